"""Post-signal PnL: exact-open-time horizons, direction, missing candles, fees, excursions; batch == single."""

from __future__ import annotations

import numpy as np
import pytest

from soroka.core.candles import CandleArrays
from soroka.core.messages import HORIZONS_MIN
from soroka.core.settings import EventType
from soroka.evaluate.pnl import evaluate, evaluate_many

T0 = 1_756_684_800_000
M = 60_000


def after(
    closes: dict[int, float], highs: dict[int, float] | None = None, lows: dict[int, float] | None = None
) -> CandleArrays:
    """Candles at T0 + k minutes (k > 0), given by close; wicks default to the close."""
    rows = []
    for k, c in closes.items():
        h = (highs or {}).get(k, c)
        lo = (lows or {}).get(k, c)
        rows.append((T0 + k * M, c, h, lo, c, 1.0, 1.0, 1))
    return CandleArrays.from_rows(rows)


CLOSES = {1: 101.0, 2: 102.0, 3: 99.0, 5: 100.5, 10: 110.0, 15: 90.0}


def test_long_pnl_uses_the_close_of_the_candle_opening_h_minutes_later() -> None:
    perf = evaluate(EventType.BOS_UP, T0, 100.0, after(CLOSES), fee_pct=0.0)
    assert perf.pnl == {1: 1.0, 2: 2.0, 3: -1.0, 5: 0.5, 10: 10.0, 15: -10.0}
    assert perf.complete


def test_short_pnl_flips_the_sign() -> None:
    perf = evaluate(EventType.BOS_DOWN, T0, 100.0, after(CLOSES), fee_pct=0.0)
    assert perf.pnl == {1: -1.0, 2: -2.0, 3: 1.0, 5: -0.5, 10: -10.0, 15: 10.0}


def test_missing_candle_leaves_the_horizon_unavailable_never_interpolated() -> None:
    closes = {k: v for k, v in CLOSES.items() if k not in (3, 10)} | {4: 50.0, 11: 50.0}
    perf = evaluate(EventType.BOS_UP, T0, 100.0, after(closes), fee_pct=0.0)
    assert perf.pnl[3] is None and perf.pnl[10] is None and perf.pnl_net[3] is None
    assert perf.pnl[5] == 0.5 and not perf.complete


def test_input_order_and_candles_outside_the_horizons_do_not_matter() -> None:
    shuffled = dict(reversed(list((CLOSES | {0: 500.0, 16: 500.0, -1: 500.0}).items())))
    perf = evaluate(EventType.BOS_UP, T0, 100.0, after(shuffled), fee_pct=0.0)
    assert perf.pnl == evaluate(EventType.BOS_UP, T0, 100.0, after(CLOSES), fee_pct=0.0).pnl


def test_net_pnl_subtracts_a_round_trip_of_fees() -> None:
    perf = evaluate(EventType.BOS_UP, T0, 100.0, after(CLOSES), fee_pct=0.001)
    assert perf.pnl_net[1] == pytest.approx(1.0 - 0.2)
    assert perf.pnl_net[15] == pytest.approx(-10.0 - 0.2)
    short = evaluate(EventType.BOS_DOWN, T0, 100.0, after(CLOSES), fee_pct=0.001)
    assert short.pnl_net[15] == pytest.approx(10.0 - 0.2)


def test_excursions_use_wicks_within_15_minutes_by_direction() -> None:
    highs, lows = {2: 104.0, 15: 105.0}, {3: 97.0, 15: 89.0}
    closes = CLOSES | {16: 100.0}
    c = after(closes, highs | {16: 200.0}, lows | {16: 1.0})  # minute 16 is outside (ot, ot+15min]
    long = evaluate(EventType.BOS_UP, T0, 100.0, c, fee_pct=0.0)
    assert (long.mfe, long.mae) == (pytest.approx(10.0), pytest.approx(-11.0))
    short = evaluate(EventType.BOS_DOWN, T0, 100.0, c, fee_pct=0.0)
    assert (short.mfe, short.mae) == (pytest.approx(11.0), pytest.approx(-10.0))


def test_no_candle_after_the_signal_gives_no_excursions() -> None:
    perf = evaluate(EventType.BOS_UP, T0, 100.0, after({16: 1.0}), fee_pct=0.0)
    assert perf.mfe is None and perf.mae is None and all(v is None for v in perf.pnl.values())


def test_batch_evaluation_equals_one_by_one() -> None:
    rng = np.random.default_rng(7)
    n = 400
    ot = T0 + np.cumsum(rng.choice([1, 1, 1, 2, 3], size=n)) * M
    close = 100 + np.cumsum(rng.normal(0, 0.5, size=n))
    high, low = close + rng.uniform(0, 1, n), close - rng.uniform(0, 1, n)
    c = CandleArrays(ot, close, high, low, close, np.ones(n), np.ones(n), np.ones(n, dtype=np.int64))
    idx = np.arange(0, n, 7, dtype=np.int64)
    signs = np.where(idx % 2 == 0, 1.0, -1.0)
    batch = evaluate_many(c, idx, signs, fee_pct=0.001)
    for k, t in enumerate(idx.tolist()):
        kind = EventType.BOS_UP if signs[k] > 0 else EventType.BOS_DOWN
        one = evaluate(kind, int(ot[t]), float(close[t]), c.slice(t + 1, n), fee_pct=0.001)
        assert batch.row(k) == one
    assert sum(v is None for k in range(len(idx)) for v in batch.row(k).pnl.values()) > 0
    assert batch.pnl.shape == (len(idx), len(HORIZONS_MIN))
