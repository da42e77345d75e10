"""`soroka trader`: the paper-trading bot, a consumer of the trade queue (TRADE_QUEUE_NAME)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from soroka.core.configuring import load_settings
from soroka.core.messages import SignalMessage
from soroka.core.settings import TraderSettings
from soroka.service.context import service_context
from soroka.service.running import run_async
from soroka.streams.producing import StreamProducer
from soroka.trader.service import PaperTrader, TraderMetrics

log = logging.getLogger("soroka.trader")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")
    parser.add_argument(
        "--poll-seconds", type=float, default=1.0, help="how often open positions check new candles"
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings(TraderSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop, poll=args.poll_seconds))


async def serve(
    settings: TraderSettings, env_file: Path | None, stop: asyncio.Event, *, poll: float = 1.0
) -> int:
    async with service_context("trader", settings, env_file, stop) as ctx:
        assert ctx.pool is not None
        trader = PaperTrader(
            settings, ctx.pool, StreamProducer(ctx.redis, maxlen=settings.stream_maxlen),
            TraderMetrics(ctx.metrics.registry), ctx.tracing,
        )  # fmt: skip
        await trader.restore()
        ctx.on_reload.append(trader.apply_settings)
        group = f"paper-trader-{settings.strategy_name}"
        consumer = ctx.consumer(
            settings.trade_queue_name, group, SignalMessage, trader.on_signal, label="trade_queue"
        )
        task = asyncio.create_task(ctx.repeat(stop, "following candles", trader.follow_candles, poll))
        try:
            await consumer.run(stop)
        finally:
            await task
    return 0
