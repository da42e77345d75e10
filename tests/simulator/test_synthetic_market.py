"""The synthetic and replayed markets: deterministic lazy candles, consistent 24h figures, planted breakouts."""

from __future__ import annotations

import time

import numpy as np
import pytest
from bos_reference import bos_events

from shared_paths import KLINES_DIR
from soroka.history.klinefiles import find_kline_files, read_kline_file
from soroka.simulator.clock import ManualClock, ScaledClock
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.replay import ReplayMarket

START = 1756684800000 + 25_000  # 2025-09-01 00:00:25
MIN = 60_000


def test_candles_are_identical_on_every_request_and_differ_by_seed() -> None:
    m = SyntheticMarket(50, seed=4, start_ms=START)
    a = m.candles("ETHUSDT", START - 600 * MIN, START)
    b = m.candles("ETHUSDT", START - 300 * MIN, START)
    m.ticker(START)  # touching other symbols and hours changes nothing
    again = SyntheticMarket(50, seed=4, start_ms=START).candles("ETHUSDT", START - 600 * MIN, START)
    for col in ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades"):
        assert np.array_equal(getattr(a, col)[-len(b) :], getattr(b, col)), col
        assert np.array_equal(getattr(a, col), getattr(again, col)), col
    other = SyntheticMarket(50, seed=5, start_ms=START).candles("ETHUSDT", START - 600 * MIN, START)
    assert not np.array_equal(a.close, other.close)


def test_candles_are_well_formed_and_continuous() -> None:
    m = SyntheticMarket(30, seed=1, start_ms=START)
    for sym in ("BTCUSDT", m.listings()[25].symbol):
        a = m.candles(sym, m.epoch_ms, START + 10 * MIN)
        assert np.all(np.diff(a.open_time) == MIN)
        assert a.open_time[0] == m.epoch_ms
        assert np.array_equal(a.open[1:], a.close[:-1])
        assert np.all(a.high >= np.maximum(a.open, a.close)) and np.all(a.low <= np.minimum(a.open, a.close))
        assert np.all(a.volume > 0) and np.all(a.trades > 0) and np.all(a.low > 0)
        assert all(
            float(x) == float(f"{x:.8f}") for x in a.close[:50]
        )  # printed with 8 decimals, parses back
    assert len(m.candles("BTCUSDT", m.epoch_ms - 100 * MIN, m.epoch_ms - MIN)) == 0  # before listing


def test_ticker_equals_the_last_1440_closed_candles() -> None:
    m = SyntheticMarket(40, seed=2, start_ms=START)
    now = START + 95 * MIN + 1234
    t = m.ticker(now)
    for i in (0, 7, 33):
        sym = m.listings()[i].symbol
        c = m.candles(sym, now - 1441 * MIN, now - MIN)
        c = c.slice(len(c) - 1440, len(c))
        assert c.open_time[-1] == (now // MIN - 1) * MIN
        assert (t.open[i], t.last[i], t.high[i], t.low[i]) == (
            c.open[0],
            c.close[-1],
            c.high.max(),
            c.low.min(),
        )
        assert t.count[i] == c.trades.sum()
        assert t.quote_volume[i] == pytest.approx(c.quote_volume.sum(), rel=1e-12)
        assert t.volume[i] == pytest.approx(c.volume.sum(), rel=1e-12)
    assert t.open_time == now // MIN * MIN - 1440 * MIN


def test_liquidity_is_heavy_tailed_and_the_top_passes_default_filters() -> None:
    m = SyntheticMarket(400, seed=3, start_ms=START)
    t = m.ticker(START)
    tradable = np.array([s.tradable() for s in m.listings()])
    passing = (t.quote_volume >= 10e6) & (t.count >= 300_000) & tradable
    assert 10 <= passing.sum() <= 120
    assert np.median(t.quote_volume) < 10e6 / 5
    assert {s.quote_asset for s in m.listings()} >= {"USDT", "BTC"}
    assert {s.status for s in m.listings()} >= {"TRADING", "BREAK", "HALT"}
    assert any(not s.spot_allowed for s in m.listings())


def test_planted_breakouts_satisfy_the_bos_rules_at_the_recorded_minute() -> None:
    m = SyntheticMarket(100, seed=9, start_ms=START, breakouts_per_hour=4)
    found = m.breakouts(START)
    assert len(found) >= 100  # two days of history at ~4 an hour
    for b in found[:: max(1, len(found) // 25)]:
        a = m.candles(b.symbol, b.open_time - 40 * MIN, b.open_time)
        events = bos_events(a)
        assert (b.type, b.open_time, b.level) in events, b
        i = len(a) - 1
        assert a.close[i] == b.close
        assert b.volume_ratio >= 1.3 and b.body_ratio >= 0.6
    assert {b.type for b in found} == {"BOS_UP", "BOS_DOWN"}


def test_a_gap_hides_one_minute_of_one_symbol() -> None:
    m = SyntheticMarket(10, seed=1, start_ms=START)
    gap = START // MIN * MIN - 5 * MIN
    m.add_gap("ETHUSDT", gap + 17)
    assert gap not in m.candles("ETHUSDT", gap - 5 * MIN, gap + 5 * MIN).open_time
    assert len(m.candles("ETHUSDT", gap - 5 * MIN, gap + 5 * MIN)) == 10
    assert gap in m.candles("BTCUSDT", gap - 5 * MIN, gap + 5 * MIN).open_time


def test_two_thousand_symbols_stay_cheap() -> None:
    t0 = time.perf_counter()
    m = SyntheticMarket(2000, seed=1, start_ms=START)
    first = m.ticker(START)
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    for k in range(1, 6):
        m.ticker(START + k * MIN)
    warm = (time.perf_counter() - t1) / 5
    print(f"2000 symbols: market + first ticker {cold:.2f}s, next tickers {warm * 1000:.0f} ms")
    assert len(first.last) == 2000
    assert cold < 10 and warm < 1.0


def test_replay_serves_files_shifted_onto_the_clock() -> None:
    path = find_kline_files(KLINES_DIR)[0]
    symbol, data = read_kline_file(path)
    m = ReplayMarket({symbol: data}, start_ms=START)
    assert m.offset == START // MIN * MIN - (int(data.open_time[0]) + 1440 * MIN)
    c = m.candles(symbol, START - 10 * MIN, START)
    assert c.open_time[-1] == START // MIN * MIN
    assert np.array_equal(c.close, data.close[1431:1441])  # open times from START - 10 min, rounded up
    t = m.ticker(START)
    assert t.count[0] == data.trades[:1440].sum() and t.last[0] == data.close[1439]
    assert t.quote_volume[0] == pytest.approx(data.quote_volume[:1440].sum())
    assert m.listings()[0].tradable() and m.breakouts(START) == []


async def test_clocks_move_as_told() -> None:
    manual = ManualClock(1000)
    await manual.sleep(2.5)
    manual.advance(500)
    assert manual.now_ms() == 4000 and manual.sleeps == [2.5]
    fast = ScaledClock(0, speed=600)
    before = fast.now_ms()
    await fast.sleep(6)  # 10 ms of real time
    assert fast.now_ms() - before >= 6000
