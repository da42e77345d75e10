"""Binance spot REST adapter: HTTP client with weight budgeting, typed payload schemas, endpoints."""

from soroka.binance.errors import (
    BinanceClientError,
    BinanceError,
    BinancePayloadError,
    BinanceUnavailableError,
)
from soroka.binance.http import BinanceHttpClient, BinanceStats

__all__ = [
    "BinanceClientError",
    "BinanceError",
    "BinanceHttpClient",
    "BinancePayloadError",
    "BinanceStats",
    "BinanceUnavailableError",
]
