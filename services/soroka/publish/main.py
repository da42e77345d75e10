"""`soroka publish`: post signals, PnL reports and summaries to the Telegram channel (aiogram)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.core.configuring import load_settings
from soroka.core.messages import ReportsStream, SignalMessage
from soroka.core.settings import PublishSettings
from soroka.observability.health import Check, CheckResult
from soroka.publish.service import Publisher, PublishMetrics
from soroka.publish.telegram import MessageSink, TelegramSender, build_sink
from soroka.service.context import service_context
from soroka.service.running import run_async

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

        signals = ctx.consumer(signals_stream, GROUP, SignalMessage, publisher.on_signal)
        reports = ctx.consumer(reports_stream, GROUP, ReportsStream, publisher.on_report)
        stop_waiter = asyncio.create_task(stop.wait())  # finish the message in hand, then start no other
        stop_waiter.add_done_callback(lambda _: setattr(publisher, "stopping", True))
        tasks = [
            asyncio.create_task(signals.run(stop)),
            asyncio.create_task(reports.run(stop)),
            asyncio.create_task(ctx.repeat(stop, "delivery pass", publisher.deliver, poll)),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await sink.close()
    return 0
