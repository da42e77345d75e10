"""Paper trading core (pure): signals open simulated positions, closed candles close them, PnL is booked.

No I/O and no clock: the caller passes ``now_ms`` and the candles. Units: prices in quote asset (USDT)
per base unit, quantities in base units, balances/margins/fees/PnL in USDT, times in UTC milliseconds.
Exact semantics: docs/paper-trading.md.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from soroka.core.candles import Candle
from soroka.core.messages import SignalMessage
from soroka.core.settings import EventType, OutputSettings, RiskSettings

Side = Literal["long", "short"]
ExitReason = Literal["stoploss", "liquidation", "time"]
DEFAULT_MAX_SIGNAL_AGE = int(OutputSettings.model_fields["max_signal_age"].default)
MINUTE_MS = 60_000


class Action(enum.StrEnum):
    """What a signal did to the book."""

    OPENED = "opened"
    STALE = "stale"  # older than MAX_SIGNAL_AGE
    SYMBOL_BUSY = "symbol_busy"  # a position of this symbol is already open
    NO_BALANCE = "no_balance"  # margin + entry fee does not fit, or notional under the minimum
    DUPLICATE = "duplicate"  # this event id was seen before (at-least-once redelivery)


@dataclass(frozen=True, slots=True)
class Position:
    """An open paper position; its exits are fixed at open, so later settings changes affect new ones only."""

    trade_id: str
    event_id: str
    symbol: str
    side: Side
    entry_price: float
    quantity: float
    margin: float
    leverage: int
    entry_fee: float
    entry_time: int  # the signal's close_time
    signal_open_time: int
    candle_span_ms: int  # close_time - open_time of a candle of this interval
    stop_price: float
    stop_reason: ExitReason
    exit_due: int  # entry_time + TRADE_TIME minutes
    last_open_time: int  # the newest candle already applied
    last_price: float

    @property
    def notional(self) -> float:
        return self.entry_price * self.quantity

    def gross_pnl(self, price: float) -> float:
        """PnL before fees if closed at ``price``; a loss never exceeds the margin (liquidation)."""
        move = price - self.entry_price if self.side == "long" else self.entry_price - price
        return max(move * self.quantity, -self.margin)


@dataclass(frozen=True, slots=True)
class Decision:
    event_id: str
    symbol: str
    action: Action
    age_seconds: float
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    trade_id: str
    event_id: str
    symbol: str
    side: Side
    entry_price: float
    exit_price: float
    quantity: float
    margin: float
    leverage: int
    entry_time: int
    exit_time: int  # close time of the candle that closed it
    reason: ExitReason
    gross_pnl: float
    fees: float  # entry fee + exit fee
    pnl: float  # gross_pnl - fees
    balance_after: float  # free balance once this trade is booked


@dataclass(frozen=True, slots=True)
class Counters:
    opened: int = 0
    closed: int = 0
    stale: int = 0
    symbol_busy: int = 0
    no_balance: int = 0
    duplicate: int = 0


def trade_id_for(event_id: str) -> str:
    """One signal opens at most one trade, so the trade id is derived from the event id."""
    return f"paper:{event_id}"


@dataclass
class PaperBook:
    """The paper account: free balance, open positions by symbol, counters. Mutated only by its methods."""

    balance: float
    settings: RiskSettings
    fee_pct: float | None = None  # None: settings.fee_pct
    max_signal_age: float = DEFAULT_MAX_SIGNAL_AGE
    min_notional: float = 5.0  # USDT; Binance spot's usual MIN_NOTIONAL
    positions: dict[str, Position] = field(default_factory=dict, init=False)
    counters: Counters = field(default_factory=Counters, init=False)
    _seen: set[str] = field(default_factory=set, init=False, repr=False)  # event ids already decided

    @property
    def fee(self) -> float:
        return self.settings.fee_pct if self.fee_pct is None else self.fee_pct

    def on_signal(self, signal: SignalMessage, now_ms: int) -> Decision:
        age = signal.age_seconds(now_ms)
        action = self._refusal(signal, age)
        self._seen.add(signal.event_id)  # a redelivered signal is decided once, whatever happened since
        if action is not None:
            self._count(action)
            return Decision(signal.event_id, signal.symbol, action, age)
        s = self.settings
        entry = signal.close
        margin = s.allocation_pct * self.balance
        notional = margin * s.leverage
        entry_fee = notional * self.fee
        if entry <= 0 or notional < self.min_notional or margin + entry_fee > self.balance:
            self._count(Action.NO_BALANCE)
            return Decision(signal.event_id, signal.symbol, Action.NO_BALANCE, age)
        side: Side = "long" if signal.type == EventType.BOS_UP else "short"
        # With leverage L the margin is gone after a 1/L adverse move: liquidation comes first if 1/L <= STOPLOSS_PCT.
        liquidated = s.stoploss_pct >= 1 / s.leverage
        distance = 1 / s.leverage if liquidated else s.stoploss_pct
        reason: ExitReason = "liquidation" if liquidated else "stoploss"
        position = Position(
            trade_id=trade_id_for(signal.event_id),
            event_id=signal.event_id,
            symbol=signal.symbol,
            side=side,
            entry_price=entry,
            quantity=notional / entry,
            margin=margin,
            leverage=s.leverage,
            entry_fee=entry_fee,
            entry_time=signal.close_time,
            signal_open_time=signal.open_time,
            candle_span_ms=signal.close_time - signal.open_time,
            stop_price=entry * (1 - distance) if side == "long" else entry * (1 + distance),
            stop_reason=reason,
            exit_due=signal.close_time + s.trade_time * MINUTE_MS,
            last_open_time=signal.open_time,
            last_price=entry,
        )
        self.balance -= margin + entry_fee
        self.positions[signal.symbol] = position
        self._count(Action.OPENED)
        return Decision(signal.event_id, signal.symbol, Action.OPENED, age, position)

    def on_candle(self, symbol: str, candle: Candle) -> list[ClosedTrade]:
        """Apply one closed candle of ``symbol``; candles at or before the last applied one are ignored."""
        pos = self.positions.get(symbol)
        if pos is None or candle.open_time <= pos.last_open_time:
            return []
        close_time = candle.open_time + pos.candle_span_ms
        stopped = candle.low <= pos.stop_price if pos.side == "long" else candle.high >= pos.stop_price
        if stopped:  # checked first: when both happen in one candle the stop wins (conservative)
            return [self._close(pos, pos.stop_price, close_time, pos.stop_reason)]
        if close_time >= pos.exit_due:
            return [self._close(pos, candle.close, close_time, "time")]
        self.positions[symbol] = replace(pos, last_open_time=candle.open_time, last_price=candle.close)
        return []

    def equity(self, prices: Mapping[str, float] | None = None) -> float:
        """Free balance + open margins + unrealised PnL at ``prices`` (else each position's last candle close)."""
        prices = prices or {}
        return self.balance + sum(
            p.margin + p.gross_pnl(prices.get(sym, p.last_price)) for sym, p in self.positions.items()
        )

    def _refusal(self, signal: SignalMessage, age: float) -> Action | None:
        if signal.event_id in self._seen:
            return Action.DUPLICATE
        if age > self.max_signal_age:
            return Action.STALE
        if signal.symbol in self.positions:
            return Action.SYMBOL_BUSY
        return None

    def _close(self, pos: Position, price: float, at: int, reason: ExitReason) -> ClosedTrade:
        gross = pos.gross_pnl(price)
        # Isolated margin: a position never takes more than its margin, so the exit fee gets what is left of it.
        exit_fee = min(price * pos.quantity * self.fee, pos.margin + gross)
        self.balance += pos.margin + gross - exit_fee
        del self.positions[pos.symbol]
        self.counters = replace(self.counters, closed=self.counters.closed + 1)
        return ClosedTrade(
            trade_id=pos.trade_id,
            event_id=pos.event_id,
            symbol=pos.symbol,
            side=pos.side,
            entry_price=pos.entry_price,
            exit_price=price,
            quantity=pos.quantity,
            margin=pos.margin,
            leverage=pos.leverage,
            entry_time=pos.entry_time,
            exit_time=at,
            reason=reason,
            gross_pnl=gross,
            fees=pos.entry_fee + exit_fee,
            pnl=gross - pos.entry_fee - exit_fee,
            balance_after=self.balance,
        )

    def _count(self, action: Action) -> None:
        name = action.value
        self.counters = replace(self.counters, **{name: getattr(self.counters, name) + 1})
