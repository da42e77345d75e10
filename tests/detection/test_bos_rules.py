"""Each DETECTION.md rule on a small hand-built series; both implementations must obey every rule."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from soroka.analyze.detection import Event, detect, detect_reference
from soroka.core.candles import CandleArrays
from soroka.core.settings import DetectorSettings, EventType

Detector = Callable[[str, CandleArrays, DetectorSettings], list[Event]]
IMPLS = pytest.mark.parametrize("find", [detect, detect_reference], ids=["vectorised", "reference"])
T0 = 1_756_684_800_000
FLAT = (100.0, 100.5, 99.5, 100.0, 10.0)  # open, high, low, close, volume


def arrays(
    rows: Sequence[tuple[float, float, float, float, float]], times: Sequence[int] | None = None
) -> CandleArrays:
    ot = list(times) if times is not None else [T0 + 60_000 * k for k in range(len(rows))]
    return CandleArrays.from_rows(
        [(ot[k], o, h, lo, c, v, v * c, 1) for k, (o, h, lo, c, v) in enumerate(rows)]
    )


def params(**kw: float) -> DetectorSettings:
    base: dict[str, float] = dict(
        lookback=2, min_candles=3, bos_strength_threshold=1.005, min_volume_multiplier=1.5,
        require_body_ratio=0.6, min_event_interval_minutes=2,
    )  # fmt: skip
    base.update(kw)
    return DetectorSettings.model_validate(base)


BREAKOUT = (101.0, 103.2, 100.9, 103.0, 30.0)  # bullish, body 2.0/2.3, volume 3x


def base_rows() -> list[tuple[float, float, float, float, float]]:
    """Swing high 102 at index 3 (L=2): known after candle 5, usable from candle 6."""
    rows = [FLAT] * 6
    rows[3] = (100.0, 102.0, 99.8, 100.2, 10.0)
    return [*rows, BREAKOUT, FLAT, FLAT]


def found(
    find: Detector, rows: list[tuple[float, float, float, float, float]], **kw: float
) -> list[tuple[int, str]]:
    return [(e.index, e.type.value) for e in find("X", arrays(rows), params(**kw))]


@IMPLS
def test_break_of_a_confirmed_swing_high_is_bos_up_with_its_figures(find: Detector) -> None:
    (ev,) = find("X", arrays(base_rows()), params())
    assert (ev.type, ev.index, ev.open_time, ev.level, ev.close) == (
        EventType.BOS_UP,
        6,
        T0 + 360_000,
        102.0,
        103.0,
    )
    assert ev.strength == 103.0 / 102.0
    assert ev.volume_ratio == 3.0
    assert ev.body_ratio == abs(103.0 - 101.0) / (103.2 - 100.9)


@IMPLS
def test_swing_high_needs_strictly_higher_than_left_side(find: Detector) -> None:
    rows = base_rows()
    rows[1] = (100.0, 102.0, 99.8, 100.0, 10.0)  # equal high L candles to the left (too early to be a swing)
    assert found(find, rows) == []


@IMPLS
def test_swing_high_allows_equal_high_on_right_side(find: Detector) -> None:
    rows = base_rows()
    rows[4] = (100.0, 102.0, 99.8, 100.0, 10.0)  # equal high on the right: still a swing at 3
    assert found(find, rows) == [(6, "BOS_UP")]


@IMPLS
def test_swing_is_unknown_until_L_candles_after_it_closed(find: Detector) -> None:
    rows = base_rows()[:6]
    rows[5] = (101.0, 102.0, 100.9, 102.0, 30.0)  # closes at the level the moment it would confirm it
    rows += [(101.5, 102.6, 101.4, 102.5, 30.0), FLAT]
    assert found(find, rows, bos_strength_threshold=1.0) == [(6, "BOS_UP")]


@IMPLS
def test_newer_confirmed_swing_replaces_the_active_level(find: Detector) -> None:
    rows = [*base_rows()[:6], FLAT, (100.0, 101.5, 99.8, 100.2, 10.0), FLAT, FLAT]  # swing 101.5 at 7
    rows.append((101.0, 102.2, 100.9, 102.1, 30.0))  # >= 101.5*S but < 102*S
    assert found(find, rows) == [(10, "BOS_UP")]
    assert find("X", arrays(rows), params())[0].level == 101.5


@IMPLS
def test_decisive_close_consumes_the_level_even_when_it_does_not_qualify(find: Detector) -> None:
    rows = base_rows()
    rows[6] = (101.0, 103.2, 100.9, 103.0, 10.0)  # decisive close, volume ratio 1.0 < V
    rows[7] = (103.0, 103.7, 102.9, 103.6, 40.0)  # would qualify against 102 but the level is gone
    assert found(find, rows) == []
    rows[6] = (101.0, 101.2, 100.9, 101.1, 10.0)  # not decisive: the level survives to candle 7
    assert found(find, rows) == [(7, "BOS_UP")]


@IMPLS
def test_a_level_breaks_only_once(find: Detector) -> None:
    rows = [*base_rows()[:7], (103.0, 103.3, 102.9, 103.1, 10.0), (103.1, 103.4, 103.0, 103.2, 10.0)]
    rows.append((103.0, 103.6, 102.9, 103.5, 30.0))  # qualifies against 102 again, 3 minutes later
    assert found(find, rows) == [(6, "BOS_UP")]


@IMPLS
def test_direction_bos_up_needs_a_bullish_candle(find: Detector) -> None:
    rows = base_rows()
    rows[6] = (103.5, 103.6, 102.8, 103.0, 30.0)  # closes above the level but below its open
    assert found(find, rows) == []


@IMPLS
def test_body_ratio_tie_qualifies_and_just_below_does_not(find: Detector) -> None:
    rows = base_rows()
    rows[6] = (102.0, 103.5, 101.5, 103.0, 30.0)  # body 1.0 / range 2.0 = 0.5 exactly
    assert found(find, rows, require_body_ratio=0.5) == [(6, "BOS_UP")]
    assert found(find, rows, require_body_ratio=0.5000001) == []


@IMPLS
def test_candle_with_high_equal_low_never_qualifies_and_does_not_divide_by_zero(find: Detector) -> None:
    rows = base_rows()
    rows[6] = (102.0, 103.0, 103.0, 103.0, 30.0)  # inconsistent but possible input: high == low
    assert found(find, rows, require_body_ratio=0.0) == []


@IMPLS
def test_volume_ratio_uses_the_previous_M_candles_and_ties_qualify(find: Detector) -> None:
    rows = base_rows()
    rows[6] = (*BREAKOUT[:4], 15.0)  # 15 / mean(10, 10, 10) = 1.5 = V
    assert found(find, rows) == [(6, "BOS_UP")]
    rows[6] = (*BREAKOUT[:4], 14.99)
    assert found(find, rows) == []
    rows[6] = (*BREAKOUT[:4], 15.0)
    rows[2] = (100.0, 100.5, 99.5, 100.0, 1000.0)  # outside the window t-M .. t-1: no effect
    assert found(find, rows) == [(6, "BOS_UP")]
    rows[3] = (100.0, 102.0, 99.8, 100.2, 1000.0)  # inside the window: mean 340
    assert found(find, rows) == []


@IMPLS
def test_zero_mean_volume_gives_an_infinite_ratio(find: Detector) -> None:
    rows = [(o, h, lo, c, 0.0) for o, h, lo, c, _ in base_rows()]
    rows[6] = (*BREAKOUT[:4], 1.0)
    (ev,) = find("X", arrays(rows), params(min_volume_multiplier=1000.0))
    assert math.isinf(ev.volume_ratio)


@IMPLS
def test_no_decision_before_max_M_and_2L_plus_1(find: Detector) -> None:
    # L=1: swing high at 1 is usable from candle 3; M=5 so nothing is decided before candle 5.
    rows = [FLAT, (100.0, 102.0, 99.8, 100.2, 10.0), FLAT, BREAKOUT, FLAT, FLAT]
    assert found(find, rows, lookback=1, min_candles=5) == []
    rows = [FLAT, (100.0, 102.0, 99.8, 100.2, 10.0), FLAT, FLAT, FLAT, BREAKOUT, FLAT]
    assert found(find, rows, lookback=1, min_candles=5) == [(5, "BOS_UP")]
    assert found(find, rows, lookback=1, min_candles=6) == []


@IMPLS
def test_bos_down_compares_close_times_S_with_the_swing_low(find: Detector) -> None:
    rows = [FLAT] * 6 + [FLAT, FLAT]
    rows[3] = (100.0, 100.2, 98.0, 99.8, 10.0)  # swing low 98 at 3
    close = 98.0 / 1.005
    rows[6] = (99.0, 99.1, close - 0.1, close, 30.0)
    evs = find("X", arrays(rows), params())
    assert [(e.index, e.type) for e in evs] == ([(6, EventType.BOS_DOWN)] if close * 1.005 <= 98.0 else [])
    rows[6] = (99.0, 99.1, 97.0, 97.4, 30.0)
    (ev,) = find("X", arrays(rows), params())
    assert (ev.type, ev.level, ev.strength) == (EventType.BOS_DOWN, 98.0, 98.0 / 97.4)
    rows[6] = (99.0, 99.1, 97.4, 97.6, 30.0)  # 97.6 * 1.005 = 98.088 > 98: not decisive
    assert found(find, rows) == []


def staircase(blocks: int) -> list[tuple[float, float, float, float, float]]:
    """L=1 pattern of peak, dip, breakout: a BOS_UP every 3 candles from index 5."""
    rows = [(95.0, 95.5, 94.5, 95.0, 10.0)] * 3
    for k in range(blocks):
        b = 100.0 + 3 * k
        rows += [(b, b + 1, b - 0.2, b + 0.2, 10.0), (b + 0.2, b + 0.5, b - 0.7, b - 0.5, 10.0)]
        rows.append((b, b + 2.1, b - 0.1, b + 2.0, 10.0))
    return rows


@IMPLS
def test_spacing_counts_minutes_from_the_last_emitted_event(find: Detector) -> None:
    kw: dict[str, float] = dict(lookback=1, min_candles=1, min_volume_multiplier=1.0, require_body_ratio=0.5)
    ups = [i for i, t in found(find, staircase(4), min_event_interval_minutes=0, **kw) if t == "BOS_UP"]
    assert ups == [5, 8, 11, 14]
    ups = [i for i, t in found(find, staircase(4), min_event_interval_minutes=5, **kw) if t == "BOS_UP"]
    assert ups == [5, 11]  # 8 is 3 min after 5; 11 is 6 min after the last *emitted* (5); 14 is 3 after 11


@IMPLS
def test_spacing_uses_open_time_not_candle_count(find: Detector) -> None:
    rows = staircase(2)
    times = [T0 + 60_000 * k for k in range(len(rows))]
    times[6:] = [t + 10 * 60_000 for t in times[6:]]  # a 10-minute gap before the second breakout
    p = params(
        lookback=1,
        min_candles=1,
        min_volume_multiplier=1.0,
        require_body_ratio=0.5,
        min_event_interval_minutes=5,
    )
    ups = [e.index for e in find("X", arrays(rows, times), p) if e.type is EventType.BOS_UP]
    assert ups == [5, 8]
