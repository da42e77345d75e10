"""Rolling-24h figures from 1m candles: the backtest's stand-in for Binance's 24h ticker (pure).

The window of candle t is the candles opening in ``(ot[t] - 24h, ot[t]]``: the last 1440 one-minute
candles including t when there are no gaps, and never more than 24 hours of data when there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from soroka.analyze.detection import MINUTE_MS, FloatArray, IntArray
from soroka.core.candles import CandleArrays
from soroka.core.messages import Figures24h

DAY_MS = 1440 * MINUTE_MS


def window_starts(open_time: IntArray) -> IntArray:
    """First index of each candle's 24h window."""
    return np.searchsorted(open_time, open_time - DAY_MS, side="right").astype(np.int64)


def figures_at(candles: CandleArrays, idx: IntArray) -> list[Figures24h]:
    """24h quote volume, trade count, high, low and last price at the given candles (exact sums)."""
    starts = window_starts(candles.open_time)
    out: list[Figures24h] = []
    for t in idx.tolist():
        lo = int(starts[t])
        out.append(
            Figures24h(
                quote_volume=float(candles.quote_volume[lo : t + 1].sum()),
                trade_count=int(candles.trades[lo : t + 1].sum()),
                high=float(candles.high[lo : t + 1].max()),
                low=float(candles.low[lo : t + 1].min()),
                last_price=float(candles.close[t]),
            )
        )
    return out


def rolling_quote_volume(candles: CandleArrays) -> FloatArray:
    """24h quote volume at every candle (prefix sums: for ranking, not for exact thresholds)."""
    csum = np.concatenate(([0.0], np.cumsum(candles.quote_volume)))
    starts = window_starts(candles.open_time)
    return np.asarray(csum[1:] - csum[starts], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class MinuteSeries:
    """A float32 value per minute from `first_minute` on (NaN = no candle): 4 bytes per minute."""

    first_minute: int
    values: npt.NDArray[np.float32]

    @classmethod
    def build(cls, open_time: IntArray, values: FloatArray) -> MinuteSeries:
        minutes = open_time // MINUTE_MS
        first = int(minutes[0]) if minutes.shape[0] else 0
        grid = np.full(int(minutes[-1]) - first + 1 if minutes.shape[0] else 0, np.nan, dtype=np.float32)
        grid[minutes - first] = values.astype(np.float32)
        return cls(first, grid)

    def at(self, minutes: IntArray) -> npt.NDArray[np.float32]:
        pos = minutes - self.first_minute
        inside = (pos >= 0) & (pos < self.values.shape[0])
        out = np.full(minutes.shape[0], np.nan, dtype=np.float32)
        out[inside] = self.values[pos[inside]]
        return out


def liquidity_ranks(
    series: dict[str, MinuteSeries], symbols: list[str], open_times: IntArray
) -> tuple[IntArray, IntArray]:
    """Rank (1 = largest 24h quote volume) of each event's symbol among the symbols with a candle that minute.

    Returns (ranks, universe sizes) aligned with the events; 0 when the event's own value is unknown.
    """
    minutes = open_times // MINUTE_MS
    own = np.array(
        [series[s].at(minutes[k : k + 1])[0] for k, s in enumerate(symbols)], dtype=np.float32
    ).reshape(-1)
    above = np.zeros(minutes.shape[0], dtype=np.int64)
    present = np.zeros(minutes.shape[0], dtype=np.int64)
    for s in series.values():
        v = s.at(minutes)
        present += ~np.isnan(v)
        above += v > own
    known = ~np.isnan(own)
    return np.where(known, above + 1, 0), np.where(known, present, 0)
