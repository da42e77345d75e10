"""The analyze worker: candles message -> detect on the window -> score, filter, store -> publish signals once."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Histogram

from soroka.analyze.detection import Event, detect
from soroka.analyze.filters import FilterChain, passed
from soroka.analyze.publishing import SignalPublisher
from soroka.analyze.scoring import ScoredEvent, score
from soroka.core.candles import CandleArrays
from soroka.core.messages import CandlesMessage, SignalMessage, stream_key
from soroka.core.settings import INTERVAL_MS, AnalyzeSettings
from soroka.observability.logs import log_context
from soroka.observability.tracing import Tracing
from soroka.storage import events as event_store
from soroka.streams.consuming import TemporaryError

log = logging.getLogger("soroka.analyze")


def event_id(strategy: str, ev: Event, interval: str) -> str:
    """Deterministic: the same candle of the same strategy always yields the same id."""
    return f"{strategy}:{ev.symbol}:{interval}:{ev.type.value}:{ev.open_time}"


class AnalyzeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "soroka_analyze_events", "Detected events by type.", ["type"], registry=registry
        )
        self.signals = Counter(
            "soroka_analyze_signals", "Signals published by type.", ["type"], registry=registry
        )
        self.filter_outcomes = Counter(
            "soroka_analyze_filter_outcomes",
            "Filter verdicts by filter and outcome.",
            ["filter", "outcome"],
            registry=registry,
        )
        self.duplicates = Counter(
            "soroka_analyze_duplicate_events",
            "Redelivered events recognised and not stored twice.",
            registry=registry,
        )
        self.spacing_suppressed = Counter(
            "soroka_analyze_spacing_suppressed",
            "Events suppressed by the cross-replica spacing guard.",
            registry=registry,
        )
        self.latency = Histogram(
            "soroka_analyze_signal_latency_seconds",
            "Candle close to signal publication.",
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300),
            registry=registry,
        )


class Analyzer:
    def __init__(
        self,
        settings: AnalyzeSettings,
        pool: asyncpg.Pool,
        publisher: SignalPublisher,
        metrics: AnalyzeMetrics,
        tracing: Tracing,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.metrics = metrics
        self.tracing = tracing
        self.apply_settings(settings)

    def apply_settings(self, settings: AnalyzeSettings) -> None:
        """Hot reload: detection parameters and the filter chain follow the configuration in force."""
        self.settings = settings
        self.chain = FilterChain.from_settings(settings)
        self.signals_stream = stream_key(settings.strategy_name, "signals")

    async def handle(self, msg: CandlesMessage, entry_id: str) -> None:
        s = self.settings
        with (
            log_context(symbol=msg.symbol),
            self.tracing.start_span(
                "analyze.candles",
                msg.traceparent,
                {"soroka.symbol": msg.symbol, "soroka.strategy": s.strategy_name},
            ),
        ):
            candles = CandleArrays.from_rows(msg.candles)
            last = len(candles) - 1
            for ev in detect(msg.symbol, candles, s):
                if ev.index == last:
                    scored = score(ev, candles, msg.ticker, msg.liquidity_rank, msg.universe_size, s)
                    await self._emit(msg, scored)

    async def _emit(self, msg: CandlesMessage, scored: ScoredEvent) -> None:
        s = self.settings
        ev = scored.event
        eid = event_id(s.strategy_name, ev, msg.interval)
        with (
            log_context(event_id=eid),
            self.tracing.start_span("analyze.event", attributes={"soroka.event_id": eid}),
        ):
            gap_ms = s.min_event_interval_minutes * 60_000
            if not await self.publisher.spacing_allows(ev.symbol, ev.type.value, ev.open_time, gap_ms):
                self.metrics.spacing_suppressed.inc()
                return
            verdicts = self.chain.apply(scored)
            ok = passed(verdicts)
            close_time = ev.open_time + INTERVAL_MS[msg.interval] - 1
            signal = SignalMessage(
                event_id=eid,
                strategy=s.strategy_name,
                symbol=ev.symbol,
                type=ev.type,
                interval=msg.interval,
                open_time=ev.open_time,
                close_time=close_time,
                close=ev.close,
                level=ev.level,
                strength=ev.strength,
                volume_ratio=ev.volume_ratio if ev.volume_ratio != float("inf") else 1e308,
                body_ratio=ev.body_ratio,
                confidence=scored.confidence.value,
                metrics=scored.metrics,
                published_at=int(time.time() * 1000),
                traceparent=self.tracing.current_traceparent(),
            )
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    new = await event_store.store_event(
                        conn,
                        event_id=eid, strategy=s.strategy_name, symbol=ev.symbol, type=ev.type.value,
                        interval=msg.interval, open_time=ev.open_time, close=ev.close, level=ev.level,
                        strength=ev.strength, volume_ratio=ev.volume_ratio, body_ratio=ev.body_ratio,
                        confidence=scored.confidence.value, metrics=scored.metrics,
                        verdicts=[asdict(v) for v in verdicts], passed=ok,
                    )  # fmt: skip
                    if ok and not await event_store.store_signal(conn, signal):
                        signal = await event_store.stored_signal(conn, eid) or signal
            except (OSError, asyncpg.PostgresConnectionError) as e:
                raise TemporaryError(f"postgres unavailable: {e}") from e
            if new:
                self.metrics.events.labels(ev.type.value).inc()
                for v in verdicts:
                    self.metrics.filter_outcomes.labels(v.name, "passed" if v.passed else "failed").inc()
            else:
                self.metrics.duplicates.inc()
            log.info(
                "%s %s at %d conf=%.3f %s",
                ev.type.value, ev.symbol, ev.open_time, scored.confidence.value,
                "signal" if ok else "filtered: " + "; ".join(v.reason for v in verdicts if not v.passed),
            )  # fmt: skip
            if ok and await self.publisher.publish_once(signal, self.signals_stream, s.trade_queue_name):
                self.metrics.signals.labels(ev.type.value).inc()
                self.metrics.latency.observe(max(0.0, time.time() - close_time / 1000))
