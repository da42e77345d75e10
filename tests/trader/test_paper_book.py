"""The paper book opens positions from signals and closes them on later candles with exact, documented PnL."""

from __future__ import annotations

from typing import Any

import pytest

from soroka.core.candles import Candle
from soroka.core.messages import SignalMessage
from soroka.core.settings import EventType, RiskSettings
from soroka.trader import Action, PaperBook, trade_id_for

T0 = 1_700_000_040_000  # open time of the breakout candle (a minute boundary)
MIN = 60_000
NOW = T0 + MIN + 500  # half a second after the breakout candle closed


def signal(
    event_id: str = "e1",
    symbol: str = "BTCUSDT",
    type: EventType = EventType.BOS_UP,
    close: float = 100.0,
    at: int = T0,
) -> SignalMessage:
    return SignalMessage(
        event_id=event_id, strategy="s", symbol=symbol, type=type, open_time=at, close_time=at + MIN - 1,
        close=close, level=99.0, strength=1.01, volume_ratio=2.0, body_ratio=0.8, confidence=0.6, published_at=at + MIN,
    )  # fmt: skip


def candle(minute: int, close: float, *, high: float | None = None, low: float | None = None) -> Candle:
    """The candle ``minute`` minutes after the breakout candle."""
    hi = max(close, high) if high is not None else close
    lo = min(close, low) if low is not None else close
    return Candle(T0 + minute * MIN, close, hi, lo, close, 1.0, 1.0, 1)


def book(balance: float = 10_000.0, fee: float = 0.001, **risk: Any) -> PaperBook:
    settings = RiskSettings(
        **{"allocation_pct": 0.5, "stoploss_pct": 0.08, "leverage": 1, "trade_time": 90, **risk}
    )
    return PaperBook(balance, settings, fee)


def test_long_stop_loss_exits_at_the_stop_price_with_both_fees() -> None:
    b = book()
    d = b.on_signal(signal(), NOW)
    assert d.action is Action.OPENED and d.position is not None
    assert (d.position.side, d.position.quantity, d.position.margin, d.position.entry_fee) == (
        "long",
        50.0,
        5000.0,
        5.0,
    )
    assert b.balance == pytest.approx(10_000 - 5_005)
    assert b.on_candle("BTCUSDT", candle(1, 95, low=92.01)) == []
    [t] = b.on_candle("BTCUSDT", candle(2, 94, low=91.5))
    assert (t.reason, t.exit_price, t.exit_time) == ("stoploss", pytest.approx(92.0), T0 + 3 * MIN - 1)
    assert t.gross_pnl == pytest.approx(-400.0)
    assert t.fees == pytest.approx(5.0 + 92 * 50 * 0.001)
    assert t.pnl == pytest.approx(-409.6)
    assert b.balance == pytest.approx(10_000 - 409.6) == t.balance_after
    assert t.trade_id == trade_id_for("e1") and not b.positions


def test_short_stop_loss_triggers_on_the_high() -> None:
    b = book()
    d = b.on_signal(signal(type=EventType.BOS_DOWN), NOW)
    assert d.position is not None and d.position.side == "short"
    assert b.on_candle("BTCUSDT", candle(1, 101, low=90, high=107.99)) == []
    [t] = b.on_candle("BTCUSDT", candle(2, 103, high=108.0))
    assert (t.side, t.reason, t.exit_price) == ("short", "stoploss", pytest.approx(108.0))
    assert t.pnl == pytest.approx(-400.0 - 5.0 - 108 * 50 * 0.001)


def test_time_exit_at_the_close_of_the_candle_closing_trade_time_after_entry() -> None:
    b = book(trade_time=3)
    b.on_signal(signal(), NOW)
    assert b.on_candle("BTCUSDT", candle(1, 101)) == []
    assert b.on_candle("BTCUSDT", candle(2, 102)) == []
    [t] = b.on_candle("BTCUSDT", candle(3, 103))
    assert (t.reason, t.exit_price, t.exit_time - t.entry_time) == ("time", 103.0, 3 * MIN)
    assert t.pnl == pytest.approx(3 * 50 - 5.0 - 103 * 50 * 0.001)


def test_short_gains_when_price_falls() -> None:
    b = book(trade_time=1)
    b.on_signal(signal(type=EventType.BOS_DOWN), NOW)
    [t] = b.on_candle("BTCUSDT", candle(1, 97))
    assert t.gross_pnl == pytest.approx(150.0)


def test_stop_loss_wins_when_it_and_the_time_exit_fall_in_one_candle() -> None:
    b = book(trade_time=1)
    b.on_signal(signal(), NOW)
    [t] = b.on_candle("BTCUSDT", candle(1, 99, low=90))
    assert (t.reason, t.exit_price) == ("stoploss", pytest.approx(92.0))


def test_leverage_three_triples_quantity_and_pnl_on_the_same_margin() -> None:
    results = []
    for leverage in (1, 3):
        b = book(leverage=leverage, trade_time=1, fee=0.0)
        d = b.on_signal(signal(), NOW)
        assert d.position is not None
        [t] = b.on_candle("BTCUSDT", candle(1, 102))
        results.append((d.position.margin, d.position.quantity, t.pnl))
    (m1, q1, p1), (m3, q3, p3) = results
    assert m3 == m1 and q3 == pytest.approx(3 * q1) and p3 == pytest.approx(3 * p1) == pytest.approx(300.0)


def test_leverage_beyond_the_stop_liquidates_and_loses_exactly_the_margin() -> None:
    b = book(leverage=20, fee=0.0)  # 1/20 = 5% adverse move before the 8% stop
    d = b.on_signal(signal(), NOW)
    assert d.position is not None and d.position.stop_price == pytest.approx(95.0)
    [t] = b.on_candle("BTCUSDT", candle(1, 94, low=94))
    assert (t.reason, t.exit_price, t.gross_pnl) == (
        "liquidation",
        pytest.approx(95.0),
        pytest.approx(-5000.0),
    )
    assert b.balance == pytest.approx(5000.0)


def test_allocation_is_a_share_of_the_balance_free_at_the_time() -> None:
    b = book()
    first = b.on_signal(signal("e1", "BTCUSDT"), NOW).position
    second = b.on_signal(signal("e2", "ETHUSDT", close=2000.0), NOW).position
    assert first is not None and second is not None
    assert first.margin == pytest.approx(5000.0)
    assert second.margin == pytest.approx(0.5 * (10_000 - 5_005))
    assert second.quantity == pytest.approx(second.margin / 2000.0)


def test_signal_older_than_max_signal_age_is_rejected_and_counted() -> None:
    b = book()
    close_time = T0 + MIN - 1
    stale = b.on_signal(signal("old"), close_time + 60_001)
    assert (stale.action, stale.position, stale.age_seconds) == (Action.STALE, None, 60.001)
    assert b.counters.stale == 1 and not b.positions and b.balance == 10_000
    assert (
        b.on_signal(signal("fresh"), close_time + 60_000).action is Action.OPENED
    )  # exactly the limit is fine


def test_second_signal_for_a_symbol_with_an_open_position_is_skipped_and_counted() -> None:
    b = book()
    b.on_signal(signal("e1"), NOW)
    d = b.on_signal(signal("e2", type=EventType.BOS_DOWN), NOW)
    assert d.action is Action.SYMBOL_BUSY and b.counters.symbol_busy == 1
    assert b.positions["BTCUSDT"].event_id == "e1" and b.balance == pytest.approx(4995.0)


def test_redelivered_signal_is_decided_once_even_after_its_trade_closed() -> None:
    b = book(trade_time=1)
    b.on_signal(signal("e1"), NOW)
    b.on_candle("BTCUSDT", candle(1, 100))
    assert b.on_signal(signal("e1"), NOW).action is Action.DUPLICATE
    assert b.counters.duplicate == 1 and b.counters.opened == 1 and not b.positions


def test_signal_that_does_not_fit_the_balance_is_skipped_and_counted() -> None:
    tiny = book(balance=8.0)  # margin 4 USDT: under the 5 USDT minimum notional
    assert tiny.on_signal(signal(), NOW).action is Action.NO_BALANCE
    all_in = book(allocation_pct=1.0)  # margin = whole balance leaves nothing for the entry fee
    assert all_in.on_signal(signal(), NOW).action is Action.NO_BALANCE
    assert tiny.counters.no_balance == 1 and all_in.counters.no_balance == 1 and all_in.balance == 10_000


def test_candles_up_to_the_breakout_candle_are_ignored() -> None:
    b = book()
    b.on_signal(signal(), NOW)
    assert b.on_candle("BTCUSDT", candle(0, 50, low=50)) == []
    assert b.on_candle("BTCUSDT", candle(-1, 50, low=50)) == []
    assert b.on_candle("ETHUSDT", candle(1, 50, low=50)) == []
    assert "BTCUSDT" in b.positions


def test_equity_counts_margin_and_unrealised_pnl_at_the_given_or_last_price() -> None:
    b = book(fee=0.0)
    b.on_signal(signal(), NOW)
    assert b.equity() == pytest.approx(10_000.0)
    b.on_candle("BTCUSDT", candle(1, 104))
    assert b.equity() == pytest.approx(10_200.0)
    assert b.equity({"BTCUSDT": 96.0}) == pytest.approx(9_800.0)


def test_new_settings_apply_to_new_positions_only() -> None:
    b = book(trade_time=1)
    b.on_signal(signal("e1"), NOW)
    b.settings = RiskSettings(allocation_pct=0.5, stoploss_pct=0.08, leverage=1, trade_time=60)
    [t] = b.on_candle("BTCUSDT", candle(1, 100))
    assert t.reason == "time"
