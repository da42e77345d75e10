"""`soroka analyze`: a stateless analyzer in the `analyze` consumer group of the candles stream."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.analyze.publishing import SignalPublisher
from soroka.analyze.service import AnalyzeMetrics, Analyzer
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, stream_key
from soroka.core.settings import AnalyzeSettings
from soroka.observability.health import Check, CheckResult
from soroka.service.context import service_context
from soroka.service.running import run_async
from soroka.streams.consuming import StreamConsumer

log = logging.getLogger("soroka.analyze")
GROUP = "analyze"
MAX_READY_LAG = 10_000  # candles messages not yet delivered to the group


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(AnalyzeSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop))


async def serve(settings: AnalyzeSettings, env_file: Path | None, stop: asyncio.Event) -> int:
    consumers: list[StreamConsumer[CandlesMessage]] = []

    async def lag() -> CheckResult:
        """Ready while the group keeps up (the consumer exists once the context is up)."""
        if not consumers:
            return CheckResult(False, "starting")
        backlog, pending = await consumers[0].lag_and_pending()
        return CheckResult(backlog <= MAX_READY_LAG, f"lag={backlog} pending={pending}")

    async with service_context(
        "analyze", settings, env_file, stop, checks=lambda ctx: [Check("consumer_lag", lag)]
    ) as ctx:
        assert ctx.pool is not None
        publisher = SignalPublisher(ctx.redis, settings.strategy_name, maxlen=settings.stream_maxlen)
        analyzer = Analyzer(settings, ctx.pool, publisher, AnalyzeMetrics(ctx.metrics.registry), ctx.tracing)
        ctx.on_reload.append(analyzer.apply_settings)
        stream = stream_key(settings.strategy_name, "candles")
        consumers.append(ctx.consumer(stream, GROUP, CandlesMessage, analyzer.handle))
        await consumers[0].run(stop)
    return 0
