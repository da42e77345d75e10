"""Planted breakouts: ten hand-shaped candles that end in a textbook Break of Structure, kept as ground truth.

For BOS_UP at minute ``t`` (BOS_DOWN mirrors it): candles t-9..t-1 drift flat around the previous close
``p`` with small bodies; t-5 carries a wick to p*1.0025, the only swing high of the window (L=3), known
from t-1 on. Candle t opens at the last close and closes at level*1.012 (S=1.006 cleared with margin),
full-bodied (body ratio ~0.95 >= B=0.6) on four times the preceding volume (>= V=1.3 over M=5).
After t the random walk resumes from the breakout close.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW = 10  # candles t-9 .. t
_DRIFT = (1, -1, 1, 0, 1, -1, 0, 1, 0)  # close offsets of t-9..t-1, in units of 0.03%
_VOLS = (1.0, 0.9, 1.1, 1.0, 1.2, 0.8, 1.0, 0.9, 1.1)
_PEAK = 4  # index of t-5 in the window
STRENGTH = 1.012


@dataclass(frozen=True, slots=True)
class Breakout:
    """Ground truth of one planted breakout (prices as the klines endpoint will print them)."""

    symbol: str
    type: str  # BOS_UP or BOS_DOWN
    open_time: int  # breakout candle, ms
    swing_open_time: int  # the candle that set the level, ms
    level: float
    close: float
    volume_ratio: float
    body_ratio: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Pattern:
    """The window's candles on the price/quantity grids (int ticks), t-9..t."""

    open: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    low: npt.NDArray[np.int64]
    close: npt.NDArray[np.int64]
    volume: npt.NDArray[np.int64]
    level: int


def build(p: int, up: bool, base_volume: int) -> Pattern:
    """The window for a previous close of ``p`` ticks (needs p >= 2000 so 0.02% is at least a tick)."""
    step = max(1, round(p * 0.0003))
    wick = max(1, round(p * 0.0002))
    sign = 1 if up else -1
    close = [p + sign * d * step for d in _DRIFT]
    opens = [p, *close[:-1]]
    high = [max(o, c) + wick for o, c in zip(opens, close, strict=True)]
    low = [min(o, c) - wick for o, c in zip(opens, close, strict=True)]
    if up:
        high[_PEAK] = p + max(step * 3, round(p * 0.0025))
        level = high[_PEAK]
        c_t = math.ceil(level * STRENGTH)
        o_t = close[-1]
        h_t, l_t = c_t + 2 * wick, o_t - wick
    else:
        low[_PEAK] = p - max(step * 3, round(p * 0.0025))
        level = low[_PEAK]
        c_t = math.floor(level / STRENGTH)
        o_t = close[-1]
        h_t, l_t = o_t + wick, c_t - 2 * wick
    vols = [max(1, round(base_volume * f)) for f in _VOLS]
    v_t = 4 * math.ceil(sum(vols[-5:]) / 5)
    return Pattern(
        np.array([*opens, o_t], dtype=np.int64),
        np.array([*high, h_t], dtype=np.int64),
        np.array([*low, l_t], dtype=np.int64),
        np.array([*close, c_t], dtype=np.int64),
        np.array([*vols, v_t], dtype=np.int64),
        level,
    )
