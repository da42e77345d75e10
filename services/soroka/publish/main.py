"""`soroka publish`: post signals, PnL reports and summaries to the Telegram channel (aiogram)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from soroka.core.messages import ReportsStream, SignalMessage
from soroka.core.settings import PublishSettings, load_settings
from soroka.observability.health import Check, CheckResult
from soroka.publish.service import Publisher, PublishMetrics
from soroka.publish.telegram import MessageSink, TelegramSender, build_sink
from soroka.service.context import ServiceContext, service_context
from soroka.service.running import consumer_name, run_async, sleep_unless_stopped
from soroka.streams.consuming import Decoder, StreamConsumer

log = logging.getLogger("soroka.publish")
GROUP = "publish"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")
    parser.add_argument("--poll-seconds", type=float, default=0.5, help="how often the outbox is delivered")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(PublishSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop, poll=args.poll_seconds))


def telegram_check(sink: MessageSink) -> Check:
    async def check() -> CheckResult:
        if not isinstance(sink, TelegramSender):
            return CheckResult(True, "console sink")
        return CheckResult(True, f"bot @{await sink.check()}")

    return Check("telegram", check, timeout=10.0)


async def serve(
    settings: PublishSettings, env_file: Path | None, stop: asyncio.Event, *, poll: float = 0.5
) -> int:
    sink = build_sink(settings)
    async with service_context(
        "publish", settings, env_file, stop, checks=lambda ctx: [telegram_check(sink)]
    ) as ctx:
        assert ctx.pool is not None
        publisher = Publisher(settings, ctx.pool, sink, PublishMetrics(ctx.metrics.registry), ctx.tracing)
        ctx.on_reload.append(publisher.apply_settings)
        await publisher.recover()
        signals_stream, reports_stream = publisher.streams()

        def consumer(
            stream: str, decoder: Decoder[Any], handler: Callable[[Any, str], Awaitable[None]]
        ) -> StreamConsumer[Any]:
            return StreamConsumer(
                ctx.redis, stream=stream, group=GROUP, consumer=consumer_name(settings.consumer_name),
                message_type=decoder, handler=handler, claim_idle_ms=settings.claim_idle_ms,
                dead_letter_after=settings.dead_letter_after, metrics=ctx.metrics,
            )  # fmt: skip

        signals = consumer(signals_stream, SignalMessage, publisher.on_signal)
        reports = consumer(reports_stream, ReportsStream, publisher.on_report)
        tasks = [
            asyncio.create_task(signals.run(stop)),
            asyncio.create_task(reports.run(stop)),
            asyncio.create_task(_deliver(ctx, publisher, stop, poll)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await sink.close()
    return 0


async def _deliver(
    ctx: ServiceContext[PublishSettings], publisher: Publisher, stop: asyncio.Event, poll: float
) -> None:
    stop_waiter = asyncio.create_task(stop.wait())
    stop_waiter.add_done_callback(lambda _: setattr(publisher, "stopping", True))
    while not stop.is_set():
        ctx.heartbeat.beat()
        try:
            await publisher.deliver()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # queued rows stay queued and are retried next pass
            log.warning("delivery pass failed: %s", e)
        await sleep_unless_stopped(stop, poll)
