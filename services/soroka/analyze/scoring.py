"""Scoring: an emitted event's metrics and confidence, from its window of candles and 24h figures (pure).

Confidence depends only on quantities computable from the analyzer's window (strength, volume and body
ratio), so the live analyzer and the backtest give the same number; docs/detection.md documents it.
The z-scores compare the breakout candle with exactly the previous ``min(CANDLE_WINDOW-1, t)`` candles,
summed oldest first, so a live window and the full history produce bit-identical metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from soroka.analyze.detection import Event, FloatArray, IntArray
from soroka.core.candles import CandleArrays
from soroka.core.messages import Figures24h
from soroka.core.settings import DetectorSettings

# Weights of the three components (sum 1) and the scales that spread typical real events over [0, 1].
WEIGHT_STRENGTH = 0.40
WEIGHT_VOLUME = 0.35
WEIGHT_BODY = 0.25
STRENGTH_SCALE = 0.0015  # strength excess (strength/S - 1) at which the component reaches 1 - 1/e
VOLUME_EXPONENT = 1.0 / 1.5  # c_volume = 1 - (V / volume_ratio) ** VOLUME_EXPONENT


@dataclass(frozen=True, slots=True)
class Confidence:
    """Confidence in [0, 1] with the components it was built from (each in [0, 1])."""

    value: float
    strength: float
    volume: float
    body: float
    strength_excess: float


def confidence(
    strength: float, volume_ratio: float, body_ratio: float, params: DetectorSettings
) -> Confidence:
    """Weighted mean of three saturating components, each non-decreasing in its input."""
    S, V, B = params.bos_strength_threshold, params.min_volume_multiplier, params.require_body_ratio
    excess = max(0.0, strength / S - 1.0) if math.isfinite(strength) else math.inf
    c_strength = 1.0 - math.exp(-excess / STRENGTH_SCALE) if math.isfinite(excess) else 1.0
    if not volume_ratio > V:  # also catches NaN
        c_volume = 0.0
    elif math.isinf(volume_ratio) or V == 0.0:
        c_volume = 1.0
    else:
        c_volume = 1.0 - (V / volume_ratio) ** VOLUME_EXPONENT
    if B >= 1.0:
        c_body = 1.0 if body_ratio >= 1.0 else 0.0
    else:
        c_body = min(1.0, max(0.0, (body_ratio - B) / (1.0 - B)))
    value = WEIGHT_STRENGTH * c_strength + WEIGHT_VOLUME * c_volume + WEIGHT_BODY * c_body
    return Confidence(min(1.0, max(0.0, value)), c_strength, c_volume, c_body, excess)


def _zscores(x: FloatArray, idx: IntArray, depth: int) -> FloatArray:
    """z of x[t] against x[t-k .. t-1], k = min(depth, t), population std; NaN when k < 2 or std == 0."""
    k = np.minimum(idx, depth).astype(np.float64)
    total = np.zeros(idx.shape[0])
    for j in range(depth, 0, -1):  # oldest first
        src = idx - j
        total = total + np.where(src >= 0, x[np.maximum(src, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / k
        sq = np.zeros(idx.shape[0])
        for j in range(depth, 0, -1):
            src = idx - j
            sq = sq + np.where(src >= 0, (x[np.maximum(src, 0)] - mean) ** 2, 0.0)
        std = np.sqrt(sq / k)
        z = (x[idx] - mean) / std
    return np.where((k >= 2) & (std > 0.0), z, np.nan)


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Per-event window statistics (arrays aligned with the event indices)."""

    return_pct: FloatArray
    return_z: FloatArray
    log_volume_z: FloatArray


def window_stats(candles: CandleArrays, idx: IntArray, candle_window: int) -> WindowStats:
    """Return (close/open - 1, in %) and log(1+volume) z-scores of candles idx against their own history."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = 100.0 * (candles.close / candles.open - 1.0)
    logv = np.log1p(candles.volume)
    depth = candle_window - 1
    return WindowStats(ret[idx], _zscores(ret, idx, depth), _zscores(logv, idx, depth))


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class ScoredEvent:
    """An event with its confidence, metrics and the filter inputs (24h figures, liquidity rank)."""

    event: Event
    confidence: Confidence
    figures24h: Figures24h | None
    liquidity_rank: int
    universe_size: int
    metrics: dict[str, float | None] = field(default_factory=dict)

    def with_rank(self, liquidity_rank: int, universe_size: int) -> ScoredEvent:
        """The same event ranked among the scanned symbols (the backtest knows ranks only at the end)."""
        m = dict(self.metrics)
        m["liquidity_rank"] = float(liquidity_rank) if liquidity_rank > 0 else None
        m["universe_size"] = float(universe_size) if universe_size > 0 else None
        return replace(self, liquidity_rank=liquidity_rank, universe_size=universe_size, metrics=m)


def _metrics(
    ev: Event,
    conf: Confidence,
    fig: Figures24h | None,
    rank: int,
    universe: int,
    ret: float,
    rz: float,
    vz: float,
) -> dict[str, float | None]:
    return {
        "strength": ev.strength,
        "strength_excess": conf.strength_excess,
        "volume_ratio": _num(ev.volume_ratio),
        "body_ratio": ev.body_ratio,
        "c_strength": conf.strength,
        "c_volume": conf.volume,
        "c_body": conf.body,
        "return_pct": _num(ret),
        "return_z": _num(rz),
        "log_volume_z": _num(vz),
        "quote_volume_24h": fig.quote_volume if fig else None,
        "trade_count_24h": float(fig.trade_count) if fig else None,
        "volatility_24h": _num(fig.volatility) if fig else None,
        "liquidity_rank": float(rank) if rank > 0 else None,
        "universe_size": float(universe) if universe > 0 else None,
    }


def score_events(
    events: Sequence[Event],
    candles: CandleArrays,
    figures24h: Sequence[Figures24h | None],
    liquidity_ranks: Sequence[int],
    universe_sizes: Sequence[int],
    params: DetectorSettings,
) -> list[ScoredEvent]:
    """Score many events of one symbol at once (the backtest); same numbers as `score` one by one."""
    idx = np.asarray([e.index for e in events], dtype=np.int64)
    stats = window_stats(candles, idx, params.candle_window)
    out: list[ScoredEvent] = []
    for k, ev in enumerate(events):
        conf = confidence(ev.strength, ev.volume_ratio, ev.body_ratio, params)
        fig, rank, universe = figures24h[k], liquidity_ranks[k], universe_sizes[k]
        m = _metrics(
            ev, conf, fig, rank, universe,
            float(stats.return_pct[k]), float(stats.return_z[k]), float(stats.log_volume_z[k]),
        )  # fmt: skip
        out.append(ScoredEvent(ev, conf, fig, rank, universe, m))
    return out


def score(
    event: Event,
    candles: CandleArrays,
    figures24h: Figures24h | None,
    liquidity_rank: int,
    universe_size: int,
    params: DetectorSettings,
) -> ScoredEvent:
    """Score one event found by `detect` on `candles` (the live analyzer's window)."""
    return score_events([event], candles, [figures24h], [liquidity_rank], [universe_size], params)[0]
