"""Historical market data on disk: Binance bulk kline files (data.binance.vision)."""
