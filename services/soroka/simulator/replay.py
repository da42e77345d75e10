"""A replayed market: Binance kline files served as if live, shifted onto the simulator clock.

Data time ``d`` is served at simulator time ``d + offset``; by default the offset puts the start of the
replay one day into the data, so the ingest finds a day of history when it starts. All files' symbols
are TRADING USDT-style pairs named as in the file names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from soroka.core.candles import CandleArrays, SymbolInfo
from soroka.history.klinefiles import load_klines
from soroka.simulator.interface import DAY_MINUTES, MINUTE_MS, TickerTable, columns, drop_gaps, window_minutes
from soroka.simulator.planting import Breakout


def _split(symbol: str) -> tuple[str, str]:
    for quote in ("USDT", "FDUSD", "USDC", "BTC", "ETH", "BNB", "TRY", "EUR"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


class ReplayMarket:
    def __init__(
        self, data: dict[str, CandleArrays], start_ms: int, replay_from_ms: int | None = None
    ) -> None:
        if not data or not any(len(a) for a in data.values()):
            raise ValueError("replay needs at least one non-empty kline file")
        self._symbols = sorted(data)
        self._data = [data[s] for s in self._symbols]
        self._index = {s: i for i, s in enumerate(self._symbols)}
        self._infos = tuple(SymbolInfo(s, "TRADING", *_split(s), True) for s in self._symbols)
        first = min(int(a.open_time[0]) for a in self._data if len(a))
        origin = first + DAY_MINUTES * MINUTE_MS if replay_from_ms is None else replay_from_ms
        self.offset = (start_ms // MINUTE_MS - origin // MINUTE_MS) * MINUTE_MS
        self._gaps: dict[int, set[int]] = {}
        self._cum = [
            (np.cumsum(a.volume), np.cumsum(a.quote_volume), np.cumsum(a.trades)) for a in self._data
        ]  # prefix sums: window sums in O(1)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], start_ms: int) -> ReplayMarket:
        return cls(load_klines(paths), start_ms)

    def listings(self) -> Sequence[SymbolInfo]:
        return self._infos

    def index(self, symbol: str) -> int | None:
        return self._index.get(symbol)

    def candles(self, symbol: str, first_ms: int, last_ms: int) -> CandleArrays:
        i = self._index.get(symbol)
        if i is None:
            return CandleArrays.empty()
        a = self._data[i]
        lo = int(np.searchsorted(a.open_time, first_ms - self.offset, side="left"))
        hi = int(np.searchsorted(a.open_time, last_ms - self.offset, side="right"))
        part = a.slice(lo, hi)
        shifted = CandleArrays(part.open_time + self.offset, *columns(part)[1:])  # type: ignore[arg-type]
        return drop_gaps(shifted, self._gaps.get(i))

    def ticker(self, now_ms: int) -> TickerTable:
        a_min, b_min = window_minutes(now_ms)
        n = len(self._data)
        cols: list[npt.NDArray[np.float64]] = [np.zeros(n) for _ in range(7)]
        count = np.zeros(n, dtype=np.int64)
        for i, (a, (cv, cq, ct)) in enumerate(zip(self._data, self._cum, strict=True)):
            lo = int(np.searchsorted(a.open_time, a_min * MINUTE_MS - self.offset, side="left"))
            hi = int(np.searchsorted(a.open_time, b_min * MINUTE_MS - self.offset, side="right"))
            if hi <= lo:
                continue
            sums = [c[hi - 1] - (c[lo - 1] if lo else 0) for c in (cv, cq, ct)]
            prev = float(a.close[lo - 1]) if lo else float(a.open[lo])
            values = (
                a.open[lo],
                a.high[lo:hi].max(),
                a.low[lo:hi].min(),
                a.close[hi - 1],
                prev,
                sums[0],
                sums[1],
            )
            for col, v in zip(cols, values, strict=True):
                col[i] = float(v)
            count[i] = int(sums[2])
        o, h, lo_, c, pc, v, q = cols
        return TickerTable(
            o, h, lo_, c, pc, v, q, count, a_min * MINUTE_MS, b_min * MINUTE_MS + MINUTE_MS - 1
        )

    def breakouts(self, until_ms: int) -> list[Breakout]:
        return []  # recorded data has no ground truth

    def add_gap(self, symbol: str, open_time_ms: int) -> None:
        i = self._index.get(symbol)
        if i is None:
            raise KeyError(symbol)
        self._gaps.setdefault(i, set()).add(open_time_ms - open_time_ms % MINUTE_MS)
