"""`soroka evaluate`: track signals (consumer group on the signals stream) and report their PnL per horizon."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.core.messages import SignalMessage, stream_key
from soroka.core.settings import EvaluateServiceSettings, load_settings
from soroka.evaluate.service import EvaluateMetrics, Evaluator
from soroka.service.context import ServiceContext, service_context
from soroka.service.running import consumer_name, run_async, sleep_unless_stopped
from soroka.streams.consuming import StreamConsumer
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
        consumer = StreamConsumer(
            ctx.redis,
            stream=stream_key(settings.strategy_name, "signals"),
            group=GROUP,
            consumer=consumer_name(settings.consumer_name),
            message_type=SignalMessage,
            handler=evaluator.on_signal,
            claim_idle_ms=settings.claim_idle_ms,
            dead_letter_after=settings.dead_letter_after,
            metrics=ctx.metrics,
        )
        task = asyncio.create_task(_evaluate_loop(ctx, evaluator, stop, poll))
        try:
            await consumer.run(stop)
        finally:
            await task
    return 0


async def _evaluate_loop(
    ctx: ServiceContext[EvaluateServiceSettings], evaluator: Evaluator, stop: asyncio.Event, poll: float
) -> None:
    while not stop.is_set():
        ctx.heartbeat.beat()
        try:
            await evaluator.evaluate_pending()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # retried next pass: nothing is lost, the rows stay pending
            log.warning("evaluation pass failed: %s", e)
        await sleep_unless_stopped(stop, poll)
