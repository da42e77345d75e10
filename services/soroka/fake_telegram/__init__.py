"""A fake Telegram Bot API server: stands in for api.telegram.org in tests and the local demo."""
