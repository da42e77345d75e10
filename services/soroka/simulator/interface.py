"""What the simulator's HTTP layer needs from a market (synthetic or replayed): listings, candles, 24h figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from soroka.core.candles import CandleArrays, SymbolInfo
from soroka.simulator.planting import Breakout

MINUTE_MS = 60_000
DAY_MINUTES = 1440


@dataclass(frozen=True, slots=True)
class TickerTable:
    """Rolling-24h figures of every listed symbol, in listing order (columns).

    Window semantics (both markets): the last 1440 *closed* one-minute candles before ``now`` — the same
    figures a backtest computes from candles, so live filters and backtests agree. ``count[i] == 0`` means
    no candle in the window (Binance then reports zeros).
    """

    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    last: npt.NDArray[np.float64]
    prev_close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    quote_volume: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    open_time: int
    close_time: int


class Market(Protocol):
    def listings(self) -> Sequence[SymbolInfo]: ...

    def index(self, symbol: str) -> int | None:
        """Position of ``symbol`` in ``listings()``, None when not listed."""
        ...

    def candles(self, symbol: str, first_ms: int, last_ms: int) -> CandleArrays:
        """Final one-minute candles with ``first_ms <= open_time <= last_ms`` (gaps left out)."""
        ...

    def ticker(self, now_ms: int) -> TickerTable: ...

    def breakouts(self, until_ms: int) -> list[Breakout]:
        """Ground truth: planted breakouts whose candle closed by ``until_ms`` (none for replays)."""
        ...

    def add_gap(self, symbol: str, open_time_ms: int) -> None: ...


def window_minutes(now_ms: int) -> tuple[int, int]:
    """First and last minute (epoch minutes) of the ticker window at ``now_ms``."""
    last = now_ms // MINUTE_MS - 1
    return last - DAY_MINUTES + 1, last


def drop_gaps(arrays: CandleArrays, gaps: set[int] | None) -> CandleArrays:
    if not gaps or len(arrays) == 0:
        return arrays
    keep = ~np.isin(arrays.open_time, np.fromiter(gaps, dtype=np.int64))
    return CandleArrays(*(c[keep] for c in columns(arrays)))  # type: ignore[arg-type]


def columns(a: CandleArrays) -> Sequence[npt.NDArray[np.int64] | npt.NDArray[np.float64]]:
    return (a.open_time, a.open, a.high, a.low, a.close, a.volume, a.quote_volume, a.trades)
