"""The paper trader: signals from the trade queue open paper positions; candles close them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from soroka.core.messages import SignalMessage, TradeMessage, stream_key
from soroka.core.settings import INTERVAL_MS, TraderSettings
from soroka.observability.tracing import Tracing
from soroka.storage import market
from soroka.storage import paper as paper_store
from soroka.streams.consuming import TemporaryError
from soroka.streams.producing import StreamProducer
from soroka.trader.paper import Action, ClosedTrade, PaperBook, Position

log = logging.getLogger("soroka.trader")
_INTERVALS = {ms - 1: name for name, ms in INTERVAL_MS.items()}


def _interval(pos: Position) -> str:
    """The candle interval of a position, from the span of the candle that opened it."""
    return _INTERVALS.get(pos.candle_span_ms, "1m")


class TraderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.signals = Counter(
            "soroka_trader_signals", "Signals by decision (opened, stale, symbol_busy, no_balance, duplicate, other_strategy).",
            ["decision"], registry=registry,
        )  # fmt: skip
        self.closed = Counter(
            "soroka_trader_trades_closed",
            "Paper trades closed by exit reason.",
            ["reason"],
            registry=registry,
        )
        self.equity = Gauge(
            "soroka_trader_equity_usdt",
            "Paper equity: balance + open margins + unrealised PnL.",
            registry=registry,
        )
        self.balance = Gauge("soroka_trader_balance_usdt", "Free paper balance.", registry=registry)
        self.open_positions = Gauge(
            "soroka_trader_open_positions", "Open paper positions.", registry=registry
        )
        self.realised = Gauge(
            "soroka_trader_realised_pnl_usdt", "Sum of closed trades' net PnL since start.", registry=registry
        )


class PaperTrader:
    def __init__(
        self,
        settings: TraderSettings,
        pool: asyncpg.Pool,
        producer: StreamProducer,
        metrics: TraderMetrics,
        tracing: Tracing,
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.metrics = metrics
        self.tracing = tracing
        self.book = PaperBook(settings.paper_balance, settings, max_signal_age=settings.max_signal_age)
        self.reports = stream_key(settings.strategy_name, "reports")
        self._now = now_ms or (lambda: time.time_ns() // 1_000_000)

    def apply_settings(self, settings: TraderSettings) -> None:
        """New positions use the risk settings in force; open ones keep the stop and exit time they opened with."""
        self.settings = settings
        self.book.settings = settings
        self.book.max_signal_age = settings.max_signal_age

    async def restore(self) -> None:
        balance, positions, traded = await paper_store.restore(self.pool, self.settings.strategy_name)
        if balance is not None:
            self.book.balance = balance
        self.book.positions = {p.symbol: p for p in positions}
        self.book._seen.update(traded)
        self._gauges()
        log.info("paper book restored: balance %.2f, %d open positions", self.book.balance, len(positions))

    def _gauges(self) -> None:
        self.metrics.equity.set(self.book.equity())
        self.metrics.balance.set(self.book.balance)
        self.metrics.open_positions.set(len(self.book.positions))

    async def on_signal(self, signal: SignalMessage, entry_id: str) -> None:
        with self.tracing.start_span(
            "trader.signal", signal.traceparent, {"soroka.event_id": signal.event_id}
        ):
            if signal.strategy != self.settings.strategy_name:
                self.metrics.signals.labels("other_strategy").inc()
                return  # the trade queue may be shared by several strategies
            decision = self.book.on_signal(signal, self._now())
            self.metrics.signals.labels(decision.action.value).inc()
            if decision.action is Action.STALE:
                log.info("stale signal %s ignored (%.0fs old)", signal.event_id, decision.age_seconds)
            if decision.action is not Action.OPENED or decision.position is None:
                return
            pos = decision.position
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await paper_store.record_open(
                        conn,
                        self.settings.strategy_name,
                        pos,
                        self.book.balance,
                        self.book.equity(),
                        signal.close_time,
                    )
            except (OSError, asyncpg.PostgresConnectionError) as e:
                self._undo(pos)
                raise TemporaryError(f"postgres unavailable: {e}") from e
            await self._report(self._message(pos, None))
            self._gauges()

    def _undo(self, pos: Position) -> None:
        """The open was not recorded: give the margin back so the redelivered signal can open it again."""
        self.book.positions.pop(pos.symbol, None)
        self.book.balance += pos.margin + pos.entry_fee
        self.book._seen.discard(pos.event_id)

    async def follow_candles(self) -> int:
        """Apply newly stored candles to open positions; returns trades closed."""
        closed = 0
        for symbol, pos in list(self.book.positions.items()):
            candles = await market.candles_between(
                self.pool, symbol, _interval(pos), pos.last_open_time + 1, 2**62
            )
            for c in candles:
                for trade in self.book.on_candle(symbol, c):
                    closed += 1
                    async with self.pool.acquire() as conn, conn.transaction():
                        await paper_store.record_close(
                            conn, self.settings.strategy_name, trade, self.book.equity()
                        )
                    self.metrics.closed.labels(trade.reason).inc()
                    self.metrics.realised.inc(trade.pnl)
                    await self._report(self._message(pos, trade))
                    log.info("paper trade %s closed (%s): pnl %.2f", trade.trade_id, trade.reason, trade.pnl)
        self._gauges()
        return closed

    def _message(self, pos: Position, trade: ClosedTrade | None) -> TradeMessage:
        return TradeMessage(
            trade_id=pos.trade_id, event_id=pos.event_id, strategy=self.settings.strategy_name, symbol=pos.symbol,
            side=pos.side, status="open" if trade is None else "closed", entry_price=pos.entry_price,
            exit_price=None if trade is None else trade.exit_price, quantity=pos.quantity, margin=pos.margin,
            leverage=pos.leverage, pnl=None if trade is None else trade.pnl,
            reason=None if trade is None else trade.reason, equity=self.book.equity(),
            at=pos.entry_time if trade is None else trade.exit_time,
            traceparent=self.tracing.current_traceparent(),
        )  # fmt: skip

    async def _report(self, msg: TradeMessage) -> None:
        claim = f"soroka:{msg.strategy}:trade:{msg.trade_id}:{msg.status}"
        await self.producer.publish_once(claim, [self.reports], msg)
