"""`soroka analyze`: a stateless analyzer in the `analyze` consumer group of the candles stream."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.analyze.publishing import SignalPublisher
from soroka.analyze.service import AnalyzeMetrics, Analyzer
from soroka.core.messages import CandlesMessage, stream_key
from soroka.core.settings import AnalyzeSettings, load_settings
from soroka.observability.health import Check, CheckResult
from soroka.service.context import ServiceContext, service_context
from soroka.service.running import consumer_name, run_async, sleep_unless_stopped
from soroka.streams.consuming import StreamConsumer

log = logging.getLogger("soroka.analyze")
GROUP = "analyze"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(AnalyzeSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop))


def lag_check(consumer: StreamConsumer[CandlesMessage], max_lag: int) -> Check:
    async def check() -> CheckResult:
        lag, pending = await consumer.lag_and_pending()
        return CheckResult(lag <= max_lag, f"lag={lag} pending={pending}")

    return Check("consumer_lag", check)


async def serve(settings: AnalyzeSettings, env_file: Path | None, stop: asyncio.Event) -> int:
    holder: list[StreamConsumer[CandlesMessage]] = []

    def checks(ctx: ServiceContext[AnalyzeSettings]) -> list[Check]:
        async def lag() -> CheckResult:
            return await lag_check(holder[0], 10_000).fn() if holder else CheckResult(False, "starting")

        return [Check("consumer_lag", lag)]

    async with service_context("analyze", settings, env_file, stop, checks=checks) as ctx:
        assert ctx.pool is not None
        publisher = SignalPublisher(ctx.redis, settings.strategy_name, maxlen=settings.stream_maxlen)
        analyzer = Analyzer(settings, ctx.pool, publisher, AnalyzeMetrics(ctx.metrics.registry), ctx.tracing)
        ctx.on_reload.append(analyzer.apply_settings)

        async def handle(msg: CandlesMessage, entry_id: str) -> None:
            ctx.heartbeat.beat()
            await analyzer.handle(msg, entry_id)

        consumer = StreamConsumer(
            ctx.redis,
            stream=stream_key(settings.strategy_name, "candles"),
            group=GROUP,
            consumer=consumer_name(settings.consumer_name),
            message_type=CandlesMessage,
            handler=handle,
            claim_idle_ms=settings.claim_idle_ms,
            dead_letter_after=settings.dead_letter_after,
            metrics=ctx.metrics,
        )
        holder.append(consumer)
        backlog = asyncio.create_task(_watch_backlog(consumer, ctx, stop))
        try:
            await consumer.run(stop)
        finally:
            backlog.cancel()
    return 0


async def _watch_backlog(
    consumer: StreamConsumer[CandlesMessage], ctx: ServiceContext[AnalyzeSettings], stop: asyncio.Event
) -> None:
    """Keep lag/pending gauges and the heartbeat fresh even when no message arrives."""
    while not stop.is_set():
        ctx.heartbeat.beat()
        try:
            await consumer.lag_and_pending()
        except Exception as e:  # the gauges are advisory; the consumer loop reports Redis errors itself
            log.debug("backlog probe failed: %s", e)
        await sleep_unless_stopped(stop, 5)
