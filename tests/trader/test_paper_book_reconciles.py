"""Property: on any candle path the book's equity reconciles with the initial balance and the booked PnL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soroka.core.candles import Candle
from soroka.core.messages import SignalMessage
from soroka.core.settings import EventType, RiskSettings
from soroka.trader import Action, ClosedTrade, PaperBook

T0 = 1_700_000_040_000
MIN = 60_000
SYMBOLS = ("AAAUSDT", "BBBUSDT")
INITIAL = 10_000.0

# One minute of one symbol: close-to-close return, upper and lower wick, and a signal after it (or none).
minute = st.tuples(
    st.sampled_from(SYMBOLS),
    st.floats(-0.06, 0.06),
    st.floats(0.0, 0.05),
    st.floats(0.0, 0.05),
    st.sampled_from([None, EventType.BOS_UP, EventType.BOS_DOWN]),
    st.integers(0, 90_000),  # signal age in ms when it arrives (stale past 60 s)
)
risk = st.builds(
    RiskSettings,
    allocation_pct=st.floats(0.05, 1.0),
    stoploss_pct=st.floats(0.005, 0.3),
    leverage=st.sampled_from([1, 2, 3, 10, 25]),
    trade_time=st.integers(1, 20),
)


def open_cost(b: PaperBook, prices: dict[str, float]) -> float:
    """What the open positions add to the initial balance: unrealised PnL less their paid entry fees."""
    return sum(p.gross_pnl(prices[s]) - p.entry_fee for s, p in b.positions.items())


@settings(max_examples=200, deadline=None)
@given(risk=risk, fee=st.sampled_from([0.0, 0.001, 0.002]), path=st.lists(minute, min_size=1, max_size=120))
def test_equity_is_initial_balance_plus_closed_pnl_plus_open_exposure(
    risk: RiskSettings, fee: float, path: list[tuple[str, float, float, float, EventType | None, int]]
) -> None:
    b = PaperBook(INITIAL, risk, fee)
    prices = dict.fromkeys(SYMBOLS, 100.0)
    closed: list[ClosedTrade] = []
    for i, (symbol, ret, up, down, event, age_ms) in enumerate(path):
        open_time = T0 + i * MIN
        prev, close = prices[symbol], prices[symbol] * (1 + ret)
        c = Candle(
            open_time, prev, max(prev, close) * (1 + up), min(prev, close) * (1 - down), close, 1.0, 1.0, 1
        )
        closed += b.on_candle(symbol, c)
        prices[symbol] = close
        if event is not None:
            s = SignalMessage(
                event_id=f"e{i}", strategy="p", symbol=symbol, type=event, open_time=open_time,
                close_time=open_time + MIN - 1, close=close, level=close, strength=1.0, volume_ratio=1.0,
                body_ratio=1.0, confidence=0.5, published_at=open_time + MIN,
            )  # fmt: skip
            d = b.on_signal(s, open_time + MIN - 1 + age_ms)
            assert (d.action is Action.STALE) == (age_ms > 60_000)
        booked = sum(t.pnl for t in closed)
        assert b.equity(prices) == pytest.approx(INITIAL + booked + open_cost(b, prices), rel=1e-9, abs=1e-6)
        assert b.balance >= -1e-9
    # Flat candles until every position has timed out: then equity is the balance, and all PnL is booked.
    last = T0 + len(path) * MIN
    for k in range(risk.trade_time + 1):
        for symbol in SYMBOLS:
            p = prices[symbol]
            closed += b.on_candle(symbol, Candle(last + k * MIN, p, p, p, p, 1.0, 1.0, 1))
    assert not b.positions
    assert b.equity() == b.balance == pytest.approx(INITIAL + sum(t.pnl for t in closed), rel=1e-9, abs=1e-6)
    assert b.counters.opened == len(closed) == b.counters.closed
    assert all(t.gross_pnl >= -t.margin - 1e-9 for t in closed)
    assert len({t.trade_id for t in closed}) == len(closed)
