"""Property tests of the detector: agreement with the reference, no look-ahead, mirror symmetry, spacing."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from soroka.analyze.detection import detect, detect_reference
from soroka.core.candles import CandleArrays
from soroka.core.settings import DetectorSettings, EventType

T0 = 1_756_684_800_000
MIRROR = 10_000  # prices stay integers, so K - p is exact


@st.composite
def candle_series(draw: st.DrawFn, min_size: int = 8, max_size: int = 150) -> CandleArrays:
    """Integer prices on a walk with wicks, volumes with zeros and repeats: many ties, many events."""
    n = draw(st.integers(min_size, max_size))
    steps = draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
    wicks = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=n, max_size=n))
    vols = draw(st.lists(st.sampled_from([0, 1, 2, 5, 10, 13, 20, 50]), min_size=n, max_size=n))
    gaps = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 5]), min_size=n, max_size=n))
    rows, price, ot = [], 5_000, T0
    for k in range(n):
        o, price = price, max(100, price + steps[k])
        hi, lo = max(o, price) + wicks[k][0], min(o, price) - wicks[k][1]
        rows.append((ot, float(o), float(hi), float(lo), float(price), float(vols[k]), 0.0, 1))
        ot += 60_000 * gaps[k]
    return CandleArrays.from_rows(rows)


@st.composite
def detector_params(draw: st.DrawFn, strength: list[float] | None = None) -> DetectorSettings:
    return DetectorSettings(
        lookback=draw(st.integers(1, 4)),
        min_candles=draw(st.integers(1, 8)),
        bos_strength_threshold=draw(st.sampled_from(strength or [1.0, 1.0005, 1.001, 1.006])),
        min_volume_multiplier=draw(st.sampled_from([0.0, 1.0, 1.3, 2.0])),
        require_body_ratio=draw(st.sampled_from([0.0, 0.5, 0.6, 1.0])),
        min_event_interval_minutes=draw(st.integers(0, 4)),
    )


@settings(max_examples=200, deadline=None)
@given(candle_series(), detector_params())
def test_vectorised_detector_equals_reference(c: CandleArrays, p: DetectorSettings) -> None:
    assert detect("X", c, p) == detect_reference("X", c, p)


@settings(max_examples=100, deadline=None)
@given(candle_series(min_size=20), detector_params(), st.data())
def test_appending_future_candles_never_changes_earlier_events(
    c: CandleArrays, p: DetectorSettings, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(1, len(c)))
    full = detect("X", c, p)
    assert detect("X", c.slice(0, cut), p) == [e for e in full if e.index < cut]


def mirrored(c: CandleArrays) -> CandleArrays:
    return CandleArrays(
        c.open_time, MIRROR - c.open, MIRROR - c.low, MIRROR - c.high, MIRROR - c.close,
        c.volume, c.quote_volume, c.trades,
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(candle_series(), detector_params(strength=[1.0]))
def test_mirrored_prices_swap_bos_up_and_bos_down(c: CandleArrays, p: DetectorSettings) -> None:
    # With S = 1 the rules are symmetric under p -> K - p, which is exact on integer prices.
    swap = {EventType.BOS_UP: EventType.BOS_DOWN, EventType.BOS_DOWN: EventType.BOS_UP}
    events = [(e.index, swap[e.type], e.body_ratio, e.volume_ratio) for e in detect("X", c, p)]
    assert events == [(e.index, e.type, e.body_ratio, e.volume_ratio) for e in detect("X", mirrored(c), p)]


@settings(max_examples=200, deadline=None)
@given(candle_series(), detector_params())
def test_events_of_one_type_are_at_least_G_minutes_apart(c: CandleArrays, p: DetectorSettings) -> None:
    for t in EventType:
        times = [e.open_time for e in detect("X", c, p) if e.type is t]
        assert all(b - a >= p.min_event_interval_minutes * 60_000 for a, b in itertools.pairwise(times))
