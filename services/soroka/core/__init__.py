"""The pure shared core: settings models, market-data types and stream messages (no I/O)."""
