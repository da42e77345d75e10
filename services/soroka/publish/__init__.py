"""The publish service: posts signals, digests, reports and summaries to Telegram."""
