"""Soroka: market-structure signals for Binance spot (ingest, analyze, evaluate, publish, trade)."""
