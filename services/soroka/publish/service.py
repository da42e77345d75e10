"""The publish worker: signals and reports are queued in the Postgres outbox, then posted to Telegram.

Stream messages are acknowledged once queued (durable). A delivery loop sends what is queued: many
signals waiting for the chat are coalesced into digests, reports reply to (or edit) their signal's
message, and every sent row records its message id, so a redelivered stream message or a restarted
publisher never posts twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from soroka.core.messages import ReportMessage, SignalMessage, TradeMessage, stream_key
from soroka.core.settings import PublishSettings
from soroka.observability.tracing import Tracing
from soroka.publish.digests import plan_messages
from soroka.publish.formatting import (
    Outcome,
    format_report,
    format_signal,
    format_stale,
    format_summary,
    summarize,
)
from soroka.publish.telegram import (
    ConsoleSink,
    DeliveryStats,
    MessageSink,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from soroka.storage import deliveries as outbox
from soroka.storage.performance import final_outcomes
from soroka.streams.consuming import TemporaryError

log = logging.getLogger("soroka.publish")


class PublishMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "soroka_publish_deliveries", "Telegram deliveries by kind (signal, digest, report, summary) and outcome.",
            ["kind", "outcome"], registry=registry,
        )  # fmt: skip
        self.stale = Counter(
            "soroka_publish_stale_signals",
            "Signals older than MAX_SIGNAL_AGE, not posted.",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "soroka_publish_queue_depth", "Deliveries queued in the outbox.", registry=registry
        )
        self.retry_after_waits = Counter(
            "soroka_publish_retry_after_waits", "Telegram 429 responses waited out.", registry=registry
        )
        self.retry_after_seconds = Counter(
            "soroka_publish_retry_after_wait_seconds",
            "Seconds waited on Telegram's retry_after.",
            registry=registry,
        )
        self.latency = Histogram(
            "soroka_publish_signal_latency_seconds", "Candle close to the signal's Telegram post.",
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300), registry=registry,
        )  # fmt: skip
        self._seen = DeliveryStats()

    def observe_sender(self, stats: DeliveryStats) -> None:
        self.retry_after_waits.inc(stats.retry_after - self._seen.retry_after)
        self.retry_after_seconds.inc(stats.retry_after_seconds - self._seen.retry_after_seconds)
        self._seen = DeliveryStats(
            retry_after=stats.retry_after, retry_after_seconds=stats.retry_after_seconds
        )


class Publisher:
    def __init__(
        self,
        settings: PublishSettings,
        pool: asyncpg.Pool,
        sink: MessageSink,
        metrics: PublishMetrics,
        tracing: Tracing,
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.sink = sink
        self.metrics = metrics
        self.tracing = tracing
        self.chat = settings.telegram_chat_id or ("console" if isinstance(sink, ConsoleSink) else "")
        self._now = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._last_summary = time.monotonic()
        self._traces: dict[str, str | None] = {}
        self.stopping = False  # set on SIGTERM: finish the message in hand, start no other

    @property
    def strategy(self) -> str:
        return self.settings.strategy_name

    def apply_settings(self, settings: PublishSettings) -> None:
        self.settings = settings

    async def recover(self) -> None:
        """At start: deliveries interrupted mid-call by a crash are settled as 'unknown', never resent."""
        n = await outbox.settle_in_flight(self.pool, self.strategy)
        if n:
            self.metrics.deliveries.labels("any", "unknown").inc(n)
            log.warning(
                "%d deliveries were in flight when the publisher stopped: marked unknown, not resent", n
            )

    async def on_signal(self, signal: SignalMessage, entry_id: str) -> None:
        with self.tracing.start_span(
            "publish.queue_signal", signal.traceparent, {"soroka.event_id": signal.event_id}
        ):
            age = signal.age_seconds(int(self._now()))  # type: ignore[operator]
            stale = age > self.settings.max_signal_age
            try:
                new = await outbox.enqueue(
                    self.pool, strategy=self.strategy, ref=signal.event_id, kind="signal", chat_id=self.chat,
                    payload=signal.model_dump_json(), open_time=signal.open_time,
                    status="stale" if stale else "queued", reason=f"{age:.0f}s old" if stale else None,
                )  # fmt: skip
            except (OSError, asyncpg.PostgresConnectionError) as e:
                raise TemporaryError(f"postgres unavailable: {e}") from e
            if new and stale:
                self.metrics.stale.inc()
                log.info("signal %s is %.0fs old (> MAX_SIGNAL_AGE): not posted", signal.event_id, age)
            self._traces[signal.event_id] = self.tracing.current_traceparent() or signal.traceparent

    async def on_report(self, message: ReportMessage | TradeMessage, entry_id: str) -> None:
        if isinstance(message, TradeMessage):
            return  # paper trades are for bots and metrics, not the channel
        ref = message.event_id if message.final else f"{message.event_id}#{len(message.pnl)}"
        try:
            await outbox.enqueue(
                self.pool, strategy=self.strategy, ref=ref, kind="report", chat_id=self.chat,
                payload=message.model_dump_json(), parent=message.event_id, open_time=message.open_time,
            )  # fmt: skip
        except (OSError, asyncpg.PostgresConnectionError) as e:
            raise TemporaryError(f"postgres unavailable: {e}") from e

    async def deliver(self) -> int:
        """Send what the outbox holds for the chat; returns messages posted or edited."""
        posted = await self._deliver_signals() + await self._deliver_reports()
        if self.settings.summary_interval_minutes and (
            time.monotonic() - self._last_summary >= self.settings.summary_interval_minutes * 60
        ):
            posted += await self.post_summary()
        self.metrics.queue_depth.set(await outbox.queue_depth(self.pool, self.strategy))
        self.metrics.observe_sender(self.sink.stats)
        return posted

    async def _deliver_signals(self) -> int:
        queued = await outbox.queued_signals(self.pool, self.strategy, self.chat)
        posted = 0
        for out in plan_messages(queued, self.settings.digest_threshold):
            if self.stopping:
                break
            refs = [s.event_id for s in out.signals]
            await outbox.mark(self.pool, self.strategy, self.chat, "signal", refs, status="sending")
            try:
                with self.tracing.start_span(
                    "publish.post_signal", self._traces.get(refs[0]), {"soroka.event_id": refs[0]}
                ):
                    sent = await self.sink.send(self.chat, out.text)
            except PermanentDeliveryError as e:
                await outbox.mark(
                    self.pool, self.strategy, self.chat, "signal", refs, status="failed", reason=e.reason
                )
                self.metrics.deliveries.labels(out.kind, "failed").inc()
                log.error("signal delivery failed permanently (%s): %s", ", ".join(refs), e.reason)
                continue
            except TemporaryDeliveryError as e:
                await outbox.mark(self.pool, self.strategy, self.chat, "signal", refs, status="queued")
                self.metrics.deliveries.labels(out.kind, "retry").inc()
                log.warning("signal delivery postponed: %s", e.reason)
                break
            await outbox.mark(
                self.pool, self.strategy, self.chat, "signal", refs, status="sent", message_id=sent.message_id
            )
            self.metrics.deliveries.labels(out.kind, "sent").inc()
            for s in out.signals:
                self.metrics.latency.observe(max(0.0, time.time() - s.close_time / 1000))
            posted += 1
        return posted

    async def _deliver_reports(self) -> int:
        posted = 0
        for q in await outbox.queued_reports(self.pool, self.strategy, self.chat):
            if self.stopping:
                break
            if q.parent_status in ("queued", "sending"):
                continue  # its signal is not posted yet: the reply waits for the parent
            text = format_report(q.report)
            await outbox.mark(self.pool, self.strategy, self.chat, "report", [q.ref], status="sending")
            try:
                with self.tracing.start_span(
                    "publish.post_report", q.report.traceparent, {"soroka.event_id": q.report.event_id}
                ):
                    if self.settings.report_mode == "edit" and q.parent_message_id and q.parent_payload:
                        await self.sink.edit(
                            self.chat, q.parent_message_id, format_signal(q.parent_payload) + "\n\n" + text
                        )
                        message_id = q.parent_message_id
                    else:
                        message_id = (
                            await self.sink.send(self.chat, text, reply_to=q.parent_message_id)
                        ).message_id
            except PermanentDeliveryError as e:
                await outbox.mark(
                    self.pool, self.strategy, self.chat, "report", [q.ref], status="failed", reason=e.reason
                )
                self.metrics.deliveries.labels("report", "failed").inc()
                continue
            except TemporaryDeliveryError:
                await outbox.mark(self.pool, self.strategy, self.chat, "report", [q.ref], status="queued")
                self.metrics.deliveries.labels("report", "retry").inc()
                break
            await outbox.mark(
                self.pool, self.strategy, self.chat, "report", [q.ref], status="sent", message_id=message_id
            )
            self.metrics.deliveries.labels("report", "sent").inc()
            posted += 1
        return posted

    async def post_summary(self) -> int:
        self._last_summary = time.monotonic()
        now = self._now()
        rows = await final_outcomes(self.pool, self.strategy)
        outcomes = [Outcome(conf, ot, {int(h): v for h, v in pnl.items()}) for conf, ot, pnl in rows]
        if not outcomes:
            return 0
        text = format_summary(summarize(self.strategy, outcomes, now))
        stale = await outbox.stale_since(self.pool, self.strategy, now - 86_400_000)
        if stale:
            oldest = max(age for _, age in stale)
            text += "\n" + format_stale([sym for sym, _ in stale], oldest, self.settings.max_signal_age)
        try:
            await self.sink.send(self.chat, text)
        except (PermanentDeliveryError, TemporaryDeliveryError) as e:
            self.metrics.deliveries.labels("summary", "failed").inc()
            log.warning("summary not posted: %s", e.reason)
            return 0
        self.metrics.deliveries.labels("summary", "sent").inc()
        return 1

    def streams(self) -> tuple[str, str]:
        return stream_key(self.strategy, "signals"), stream_key(self.strategy, "reports")
