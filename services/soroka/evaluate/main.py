"""`soroka evaluate`: track signals (consumer group on the signals stream) and report their PnL per horizon."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.core.configuring import load_settings
from soroka.core.messages import SignalMessage, stream_key
from soroka.core.settings import EvaluateServiceSettings
from soroka.evaluate.service import EvaluateMetrics, Evaluator
from soroka.service.context import service_context
from soroka.service.running import run_async
from soroka.streams.producing import StreamProducer

log = logging.getLogger("soroka.evaluate")
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")
    parser.add_argument(
        "--poll-seconds", type=float, default=1.0, help="how often pending signals are re-evaluated"
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings(EvaluateServiceSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop, poll=args.poll_seconds))


async def serve(
    settings: EvaluateServiceSettings, env_file: Path | None, stop: asyncio.Event, *, poll: float = 1.0
) -> int:
    async with service_context("evaluate", settings, env_file, stop) as ctx:
        assert ctx.pool is not None
        producer = StreamProducer(ctx.redis, maxlen=settings.stream_maxlen)
        evaluator = Evaluator(
            settings, ctx.pool, producer, EvaluateMetrics(ctx.metrics.registry), ctx.tracing
        )
        ctx.on_reload.append(evaluator.apply_settings)
        consumer = ctx.consumer(
            stream_key(settings.strategy_name, "signals"), GROUP, SignalMessage, evaluator.on_signal
        )
        task = asyncio.create_task(ctx.repeat(stop, "evaluation pass", evaluator.evaluate_pending, poll))
        try:
            await consumer.run(stop)
        finally:
            await task
    return 0
