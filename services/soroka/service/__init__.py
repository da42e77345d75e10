"""The runtime every service shares: stop signals, the asyncio entry point, configuration reloads."""
