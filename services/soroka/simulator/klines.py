"""Answering a klines request: which interval opens to return, the open candle last, coarser intervals."""

from __future__ import annotations

import numpy as np

from soroka.core.candles import CandleArrays
from soroka.simulator.interface import MINUTE_MS, Market
from soroka.simulator.payloads import partial

VALID_INTERVALS = (
    "1s",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
# Fixed-length intervals the simulator aggregates from its one-minute candles (1s, 1w and 1M are not simulated).
SIMULATED_MINUTES = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240,
    "6h": 360, "8h": 480, "12h": 720, "1d": 1440, "3d": 4320,
}  # fmt: skip


def select(
    market: Market, symbol: str, minutes: int, start: int | None, end: int | None, limit: int, now_ms: int
) -> CandleArrays:
    """Like Binance: from ``start`` forward, else the ``limit`` newest up to ``end`` (or now).

    The interval containing ``now`` is included while open, as Binance does. ``limit`` counts intervals;
    gaps make the answer shorter rather than reaching further back.
    """
    iv = minutes * MINUTE_MS
    newest = (min(now_ms, end) if end is not None else now_ms) // iv * iv
    if start is not None:
        first = -(-start // iv) * iv
        last = min(newest, first + (limit - 1) * iv)
    else:
        last = newest
        first = last - (limit - 1) * iv
    if last < first:
        return CandleArrays.empty()
    one = market.candles(symbol, first, min(last + iv - MINUTE_MS, now_ms))
    one = partial(one, now_ms)
    return one if minutes == 1 else aggregate(one, iv)


def aggregate(a: CandleArrays, iv: int) -> CandleArrays:
    if len(a) == 0:
        return a
    keys = a.open_time // iv
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(a)] - 1
    return CandleArrays(
        keys[starts] * iv,
        a.open[starts],
        np.maximum.reduceat(a.high, starts),
        np.minimum.reduceat(a.low, starts),
        a.close[ends],
        np.add.reduceat(a.volume, starts),
        np.add.reduceat(a.quote_volume, starts),
        np.add.reduceat(a.trades, starts),
    )
