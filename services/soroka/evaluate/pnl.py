"""Post-signal performance: PnL per horizon, excursions and net PnL from the candles after a signal (pure).

Entry is the breakout candle's close. Horizon h uses the close of the candle whose open time is exactly
``open_time + h minutes`` (missing -> None, never guessed). PnL% is ``100*(close_h - entry)/entry``,
negated for BOS_DOWN (a short). MFE/MAE are the best and worst PnL% reached by any high/low of the
candles opening in ``(open_time, open_time + 15 min]``. Net PnL subtracts a round trip of fees:
``net = gross - 2 * 100 * fee_pct`` (fee_pct per side as a fraction of notional).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from soroka.analyze.detection import MINUTE_MS, FloatArray, IntArray
from soroka.core.candles import CandleArrays
from soroka.core.messages import HORIZONS_MIN
from soroka.core.settings import EventType

EXCURSION_MINUTES = 15


def _opt(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class Performance:
    """One signal's outcome; every None means the candle it needs is missing."""

    entry: float
    pnl: dict[int, float | None]
    pnl_net: dict[int, float | None]
    mfe: float | None
    mae: float | None

    @property
    def complete(self) -> bool:
        return all(v is not None for v in self.pnl.values())


def round_trip_fee_pct(fee_pct: float) -> float:
    """Percentage points lost to fees on entry and exit (fee_pct is per side, as a fraction)."""
    return 2.0 * 100.0 * fee_pct


@dataclass(frozen=True, slots=True)
class PerformanceArrays:
    """Outcomes of many events of one symbol: pnl[k, j] for event k and horizon j (NaN = missing)."""

    horizons: tuple[int, ...]
    entry: FloatArray
    pnl: FloatArray
    pnl_net: FloatArray
    mfe: FloatArray
    mae: FloatArray

    def row(self, k: int) -> Performance:
        return Performance(
            float(self.entry[k]),
            {h: _opt(float(self.pnl[k, j])) for j, h in enumerate(self.horizons)},
            {h: _opt(float(self.pnl_net[k, j])) for j, h in enumerate(self.horizons)},
            _opt(float(self.mfe[k])),
            _opt(float(self.mae[k])),
        )


def evaluate_many(
    candles: CandleArrays,
    idx: IntArray,
    signs: FloatArray,
    fee_pct: float,
    horizons: Sequence[int] = HORIZONS_MIN,
) -> PerformanceArrays:
    """Vectorised outcomes of events at indices `idx` of candles sorted by unique open time.

    `signs` is +1 for BOS_UP (long) and -1 for BOS_DOWN (short).
    """
    n, m = len(candles), idx.shape[0]
    ot, entry = candles.open_time, candles.close[idx]
    pnl = np.full((m, len(horizons)), np.nan)
    for j, h in enumerate(horizons):
        target = ot[idx] + h * MINUTE_MS
        pos = np.minimum(np.searchsorted(ot, target), max(n - 1, 0))
        hit = ot[pos] == target if n else np.zeros(m, dtype=np.bool_)
        pnl[:, j] = np.where(hit, signs * 100.0 * (candles.close[pos] - entry) / entry + 0.0, np.nan)
    best = np.full(m, -np.inf)
    worst = np.full(m, np.inf)
    for k in range(1, EXCURSION_MINUTES + 1):  # unique sorted open times: at most 15 candles in the window
        pos = np.minimum(idx + k, n - 1)
        inside = (idx + k < n) & (ot[pos] <= ot[idx] + EXCURSION_MINUTES * MINUTE_MS)
        fav = np.where(signs > 0, candles.high[pos], candles.low[pos])
        adv = np.where(signs > 0, candles.low[pos], candles.high[pos])
        best = np.where(inside, np.maximum(best, signs * 100.0 * (fav - entry) / entry), best)
        worst = np.where(inside, np.minimum(worst, signs * 100.0 * (adv - entry) / entry), worst)
    fee = round_trip_fee_pct(fee_pct)
    return PerformanceArrays(
        tuple(horizons), entry, pnl, pnl - fee, np.where(np.isfinite(best), best + 0.0, np.nan),
        np.where(np.isfinite(worst), worst + 0.0, np.nan),
    )  # fmt: skip


def evaluate(
    event_type: EventType,
    open_time: int,
    entry: float,
    after: CandleArrays,
    fee_pct: float,
    horizons: Sequence[int] = HORIZONS_MIN,
) -> Performance:
    """One signal's outcome from the candles after it (any order, gaps and duplicates allowed)."""
    sign = 1.0 if event_type is EventType.BOS_UP else -1.0
    pnl: dict[int, float | None] = {}
    for h in horizons:
        at = np.flatnonzero(after.open_time == open_time + h * MINUTE_MS)
        pnl[h] = sign * 100.0 * (float(after.close[at[0]]) - entry) / entry + 0.0 if at.shape[0] else None
    fee = round_trip_fee_pct(fee_pct)
    net = {h: (v - fee if v is not None else None) for h, v in pnl.items()}
    inside = (after.open_time > open_time) & (after.open_time <= open_time + EXCURSION_MINUTES * MINUTE_MS)
    if not bool(inside.any()):
        return Performance(entry, pnl, net, None, None)
    hi, lo = float(after.high[inside].max()), float(after.low[inside].min())
    fav, adv = (hi, lo) if sign > 0 else (lo, hi)
    mfe = sign * 100.0 * (fav - entry) / entry + 0.0  # + 0.0 turns -0.0 into 0.0
    mae = sign * 100.0 * (adv - entry) / entry + 0.0
    return Performance(entry, pnl, net, mfe, mae)
