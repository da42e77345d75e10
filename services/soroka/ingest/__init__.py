"""The ingest service: universe, 24h tickers and closed candles from Binance into Postgres and the candles stream."""
