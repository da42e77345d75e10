"""Break-of-Structure detection: the DETECTION.md rules over one symbol's closed candles (pure, causal).

`detect` is the vectorised implementation used live (on the analyzer's window) and in the backtest (on the
whole history); `detect_reference` is a literal per-candle transcription of the same rules, kept for tests
and the benchmark. Both evaluate every comparison exactly as DETECTION.md writes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from soroka.core.candles import CandleArrays
from soroka.core.settings import DetectorSettings, EventType

MINUTE_MS = 60_000

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Event:
    """One emitted BOS event: the breakout candle and the level it broke."""

    symbol: str
    type: EventType
    index: int
    open_time: int
    close: float
    level: float
    strength: float
    volume_ratio: float
    body_ratio: float


def first_decision_index(params: DetectorSettings) -> int:
    """The first candle index at which an event may be decided: max(M, 2L+1)."""
    return max(params.min_candles, 2 * params.lookback + 1)


def _swing_points(x: FloatArray, lookback: int) -> IntArray:
    """Indices i with x[i] > max(x[i-L..i-1]) and x[i] >= max(x[i+1..i+L]) (swing highs of x)."""
    n, L = x.shape[0], lookback
    if n < 2 * L + 1:
        return np.empty(0, dtype=np.int64)
    wmax = x[0 : n - L + 1].copy()  # wmax[j] = max(x[j .. j+L-1])
    for k in range(1, L):
        np.maximum(wmax, x[k : n - L + 1 + k], out=wmax)
    mid = x[L : n - L]
    is_swing = (mid > wmax[0 : n - 2 * L]) & (mid >= wmax[L + 1 : n - L + 1])
    return np.flatnonzero(is_swing).astype(np.int64) + L


def _active_swing(swings: IntArray, n: int, lookback: int) -> IntArray:
    """For every candle t, the index of the most recently confirmed swing usable at t (-1: none).

    A swing at i is known once candle i+L has closed, so it is usable from candle i+L+1 on.
    """
    active = np.full(n, -1, dtype=np.int64)
    usable_from = swings + lookback + 1
    keep = usable_from < n
    active[usable_from[keep]] = swings[keep]
    return np.maximum.accumulate(active)


def _first_breaks(decisive: npt.NDArray[np.bool_], active: IntArray) -> IntArray:
    """Candles that consume a level: the first decisive close after each level became active."""
    d = np.flatnonzero(decisive)
    if d.shape[0] > 1:
        first = np.ones(d.shape[0], dtype=np.bool_)
        first[1:] = active[d[1:]] != active[d[:-1]]
        d = d[first]
    return d.astype(np.int64)


def volume_ratios(volume: FloatArray, idx: IntArray, min_candles: int) -> FloatArray:
    """v[t] / mean(v[t-M] .. v[t-1]) at the given t (sum oldest first, then / M); zero mean -> inf."""
    total = volume[idx - min_candles].copy()
    for k in range(1, min_candles):
        total = total + volume[idx - min_candles + k]
    mean = total / min_candles
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = volume[idx] / mean
    return np.where(mean == 0.0, np.inf, ratio)


def body_ratios(candles: CandleArrays, idx: IntArray) -> FloatArray:
    """|close-open| / (high-low) at the given t; 0 where high <= low (such a candle never qualifies)."""
    rng = candles.high[idx] - candles.low[idx]
    body = np.abs(candles.close[idx] - candles.open[idx])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = body / rng
    return np.where(rng > 0.0, ratio, 0.0)


def _space(open_time: IntArray, idx: IntArray, min_interval_ms: int) -> IntArray:
    """Drop events less than G minutes after the last *emitted* event of the same type."""
    if min_interval_ms <= 0 or idx.shape[0] < 2:
        return idx
    ot = open_time[idx]
    if bool(np.all(np.diff(ot) >= min_interval_ms)):
        return idx
    keep: list[int] = []
    last = -(2**62)
    for pos, t in enumerate(ot.tolist()):
        if t - last >= min_interval_ms:
            keep.append(pos)
            last = t
    return idx[np.asarray(keep, dtype=np.int64)]


def _detect_side(
    candles: CandleArrays, params: DetectorSettings, event_type: EventType
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Emitted events of one type: (index, level, strength, volume ratio, body ratio) arrays."""
    n = len(candles)
    L, S = params.lookback, params.bos_strength_threshold
    close, open_ = candles.close, candles.open
    up = event_type is EventType.BOS_UP
    # Negation is exact, so swing lows of `low` are swing highs of `-low` with the strictness preserved.
    swings = _swing_points(candles.high if up else -candles.low, L)
    active = _active_swing(swings, n, L)
    has_level = active >= 0
    has_level[: first_decision_index(params)] = False
    level = (candles.high if up else candles.low)[np.where(has_level, active, 0)]
    decisive = has_level & ((close >= level * S) if up else (close * S <= level))
    t = _first_breaks(decisive, active)
    direction = (close[t] > open_[t]) if up else (close[t] < open_[t])
    body = body_ratios(candles, t)
    vol = volume_ratios(candles.volume, t, params.min_candles)
    qualifies = direction & (candles.high[t] > candles.low[t]) & (body >= params.require_body_ratio)
    qualifies &= vol >= params.min_volume_multiplier
    sel = _space(candles.open_time, t[qualifies], params.min_event_interval_minutes * MINUTE_MS)
    mask = np.isin(t, sel)
    lv = level[sel]
    strength = close[sel] / lv if up else lv / close[sel]
    return sel, lv, strength, vol[mask], body[mask]


def detect(symbol: str, candles: CandleArrays, params: DetectorSettings) -> list[Event]:
    """Every emitted BOS event over the series, in candle order (vectorised; see DETECTION.md)."""
    if len(candles) <= first_decision_index(params):
        return []
    out: list[tuple[int, Event]] = []
    for event_type in (EventType.BOS_UP, EventType.BOS_DOWN):
        idx, level, strength, vol, body = _detect_side(candles, params, event_type)
        ot, close = candles.open_time[idx].tolist(), candles.close[idx].tolist()
        for k, t in enumerate(idx.tolist()):
            ev = Event(
                symbol, event_type, t, ot[k], close[k], float(level[k]), float(strength[k]),
                float(vol[k]), float(body[k]),
            )  # fmt: skip
            out.append((t, ev))
    out.sort(key=lambda p: p[0])
    return [e for _, e in out]


def detect_reference(symbol: str, candles: CandleArrays, params: DetectorSettings) -> list[Event]:
    """The same rules candle by candle in plain Python: the executable reading of DETECTION.md."""
    L, M, S = params.lookback, params.min_candles, params.bos_strength_threshold
    gap_ms = params.min_event_interval_minutes * MINUTE_MS
    o, h, lo, c = candles.open.tolist(), candles.high.tolist(), candles.low.tolist(), candles.close.tolist()
    v, ot = candles.volume.tolist(), candles.open_time.tolist()
    up_level: float | None = None
    down_level: float | None = None
    last_emitted: dict[EventType, int | None] = {EventType.BOS_UP: None, EventType.BOS_DOWN: None}
    events: list[Event] = []
    for t in range(len(c)):
        i = t - L - 1  # the swing candidate whose right-hand side closed with candle t-1
        if i >= L:
            if h[i] > max(h[i - L : i]) and h[i] >= max(h[i + 1 : i + L + 1]):
                up_level = h[i]
            if lo[i] < min(lo[i - L : i]) and lo[i] <= min(lo[i + 1 : i + L + 1]):
                down_level = lo[i]
        if t < max(M, 2 * L + 1):
            continue
        for event_type, level in ((EventType.BOS_UP, up_level), (EventType.BOS_DOWN, down_level)):
            if level is None:
                continue
            up = event_type is EventType.BOS_UP
            if not (c[t] >= level * S if up else c[t] * S <= level):
                continue
            if up:
                up_level = None
            else:
                down_level = None
            total = v[t - M]
            for k in range(t - M + 1, t):
                total += v[k]
            mean = total / M
            volume_ratio = math.inf if mean == 0.0 else v[t] / mean
            body_ratio = abs(c[t] - o[t]) / (h[t] - lo[t]) if h[t] > lo[t] else 0.0
            qualifies = (c[t] > o[t] if up else c[t] < o[t]) and h[t] > lo[t]
            qualifies = qualifies and body_ratio >= params.require_body_ratio
            qualifies = qualifies and volume_ratio >= params.min_volume_multiplier
            last = last_emitted[event_type]
            if not qualifies or (last is not None and ot[t] - last < gap_ms):
                continue
            last_emitted[event_type] = ot[t]
            strength = c[t] / level if up else level / c[t]
            events.append(
                Event(symbol, event_type, t, ot[t], c[t], level, strength, volume_ratio, body_ratio)
            )
    return events
