"""Backtest: replay kline files through the same detector, scoring, filters and PnL as the live services."""
