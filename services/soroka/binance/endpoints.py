"""The Binance market-data endpoints Soroka uses, one small function each, returning parsed objects."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from soroka.binance.http import BinanceHttpClient
from soroka.binance.schemas import BinanceExchangeInfo, BinanceKline, BinanceServerTime, BinanceTicker24hr
from soroka.core.candles import Candle, Ticker24h

MAX_KLINES = 1000
log = logging.getLogger(__name__)


def _empty(payload: object) -> None:
    return None


async def ping(client: BinanceHttpClient) -> None:
    await client.request("/api/v3/ping", weight=1, parse=_empty)


async def server_time(client: BinanceHttpClient) -> int:
    """The exchange's clock in ms."""
    return (await client.request("/api/v3/time", weight=1, parse=BinanceServerTime.parse)).serverTime


async def exchange_info(client: BinanceHttpClient) -> BinanceExchangeInfo:
    """All symbols with status and rate limits (weight 20); ``.to_domain()`` gives SymbolInfo objects."""
    return await client.request("/api/v3/exchangeInfo", weight=20, parse=BinanceExchangeInfo.parse)


def ticker_weight(n_symbols: int | None) -> int:
    if n_symbols is None or n_symbols > 100:
        return 80
    return 2 if n_symbols <= 20 else 40


async def ticker_24hr(client: BinanceHttpClient, symbols: Sequence[str] | None = None) -> list[Ticker24h]:
    """Rolling 24h figures of all symbols (weight 80) or of the given ones (2 up to 20, 40 up to 100)."""
    params = None if symbols is None else {"symbols": json.dumps(list(symbols), separators=(",", ":"))}
    n = None if symbols is None else len(symbols)
    rows, skipped = await client.request(
        "/api/v3/ticker/24hr", weight=ticker_weight(n), parse=BinanceTicker24hr.parse_lenient, params=params
    )
    if skipped:
        client.stats.errors["malformed"] += len(skipped)
        log.warning("ticker/24hr: %d malformed rows skipped (first: %s)", len(skipped), skipped[0])
    return [r.to_domain() for r in rows]


async def klines(
    client: BinanceHttpClient,
    symbol: str,
    interval: str = "1m",
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int = 500,
    now_ms: int | None = None,
) -> list[Candle]:
    """Closed klines only (weight 2).

    Binance returns the still-forming kline as the newest row; it is dropped by keeping rows whose
    close time is before ``now_ms``. Pass the exchange's "now" (e.g. the simulator clock or server time);
    by default the client's injected clock is used.
    """
    if not 1 <= limit <= MAX_KLINES:
        raise ValueError(f"limit must be 1..{MAX_KLINES}, got {limit}")
    params = {
        "symbol": symbol,
        "interval": interval,
        "startTime": start_time,
        "endTime": end_time,
        "limit": limit,
    }
    rows = await client.request("/api/v3/klines", weight=2, parse=BinanceKline.parse_many, params=params)
    now = client.now_ms() if now_ms is None else now_ms
    return [r.to_domain() for r in rows if r.closeTime < now]
