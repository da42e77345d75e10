"""The detector on a real month of Binance 1m klines: determinism, sane counts, live-window parity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared_paths import KLINES_DIR
from soroka.analyze.detection import _swing_points, detect, detect_reference
from soroka.analyze.scoring import score, score_events
from soroka.core.candles import CandleArrays
from soroka.core.settings import DetectorSettings, EventType
from soroka.history.klinefiles import read_kline_file

FILES = ["FILUSDT-1m-2025-09.csv.xz", "NEARUSDT-1m-2025-09.csv.xz"]
PARAMS = DetectorSettings()


@pytest.fixture(scope="module", params=FILES)
def month(request: pytest.FixtureRequest) -> tuple[str, CandleArrays]:
    return read_kline_file(KLINES_DIR / request.param)


def test_repeated_runs_give_identical_events_and_match_reference(month: tuple[str, CandleArrays]) -> None:
    symbol, c = month
    first = detect(symbol, c, PARAMS)
    assert first == detect(symbol, c, PARAMS)
    assert first == detect_reference(symbol, c, PARAMS)


def test_event_counts_are_bounded_by_the_rules(month: tuple[str, CandleArrays]) -> None:
    symbol, c = month
    events = detect(symbol, c, PARAMS)
    highs = _swing_points(c.high, PARAMS.lookback).shape[0]
    lows = _swing_points(-c.low, PARAMS.lookback).shape[0]
    ups = [e for e in events if e.type is EventType.BOS_UP]
    downs = [e for e in events if e.type is EventType.BOS_DOWN]
    assert 0 < len(ups) <= highs and 0 < len(downs) <= lows  # each level breaks at most once
    assert len(events) <= len(c) // (PARAMS.min_event_interval_minutes or 1) + 1
    for e in events:
        assert e.strength >= 1.0 and e.body_ratio >= PARAMS.require_body_ratio
        assert e.volume_ratio >= PARAMS.min_volume_multiplier


def test_live_sliding_window_reproduces_full_history_detection(month: tuple[str, CandleArrays]) -> None:
    """Parity: detect on each window of CANDLE_WINDOW candles ending at t, keep an event at t."""
    symbol, c = month
    w = PARAMS.candle_window
    full = {e.index: e for e in detect(symbol, c, PARAMS)}
    live = {}
    for t in range(len(c)):
        window = c.slice(max(0, t - w + 1), t + 1)
        events = detect(symbol, window, PARAMS)
        if events and events[-1].index == len(window) - 1:
            live[t] = events[-1]
    assert set(live) == set(full)
    for t, e in live.items():
        f = full[t]
        assert (e.type, e.open_time, e.close, e.level, e.strength, e.volume_ratio, e.body_ratio) == (
            f.type, f.open_time, f.close, f.level, f.strength, f.volume_ratio, f.body_ratio,
        )  # fmt: skip


def test_metrics_on_the_live_window_equal_full_history_metrics(month: tuple[str, CandleArrays]) -> None:
    symbol, c = month
    w = PARAMS.candle_window
    events = [e for e in detect(symbol, c, PARAMS) if e.index >= w - 1]
    n = len(events)
    batch = score_events(events, c, [None] * n, [0] * n, [0] * n, PARAMS)
    for e, b in zip(events, batch, strict=True):
        window = c.slice(e.index - w + 1, e.index + 1)
        (local,) = [x for x in detect(symbol, window, PARAMS) if x.index == w - 1]
        s = score(local, window, None, 0, 0, PARAMS)
        assert s.confidence == b.confidence
        assert s.metrics.keys() == b.metrics.keys()
        for k, v in s.metrics.items():
            bv = b.metrics[k]
            assert v == bv or (v is None and bv is None) or (isinstance(v, float) and math.isnan(v)), k


def test_confidence_of_real_events_spreads_over_the_unit_interval() -> None:
    conf = []
    for name in FILES:
        symbol, c = read_kline_file(KLINES_DIR / name)
        events = detect(symbol, c, PARAMS)
        n = len(events)
        conf += [s.confidence.value for s in score_events(events, c, [None] * n, [0] * n, [0] * n, PARAMS)]
    q10, q50, q90 = np.percentile(conf, [10, 50, 90])
    assert q10 < 0.45 and 0.45 <= q50 <= 0.80 and q90 > 0.6  # the default band cuts through the middle
    assert 0.2 < np.mean([0.45 <= x <= 0.80 for x in conf]) < 0.8
