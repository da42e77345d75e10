"""`soroka ingest`: the ingest service's process: schedule cycles by the exchange clock, serve health and metrics."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

from soroka.core.configuring import load_settings
from soroka.core.settings import IngestSettings
from soroka.ingest.binance_source import BinanceSource
from soroka.ingest.cycling import IngestCycle
from soroka.ingest.metrics import IngestMetrics
from soroka.ingest.scheduling import ExchangeClock, cycle_target, next_due_ms
from soroka.observability.health import Check, freshness_check
from soroka.service.context import ServiceContext, service_context
from soroka.service.running import run_async, sleep_unless_stopped
from soroka.streams.producing import StreamProducer

log = logging.getLogger("soroka.ingest")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=None, help="the service's .env file")
    parser.add_argument("--once", action="store_true", help="run a single cycle and exit")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(IngestSettings, args.env_file)
    return run_async(lambda stop: serve(settings, args.env_file, stop, once=args.once))


async def serve(
    settings: IngestSettings, env_file: Path | None, stop: asyncio.Event, *, once: bool = False
) -> int:
    last_success: list[float] = []

    def checks(ctx: ServiceContext[IngestSettings]) -> list[Check]:
        max_age = max(180.0, 3 * settings.interval_ms / 1000)
        return [freshness_check("last_cycle", lambda: last_success[-1] if last_success else None, max_age)]

    async with service_context("ingest", settings, env_file, stop, checks=checks) as ctx:
        clock = ExchangeClock()
        source = BinanceSource.from_settings(settings, clock)
        assert ctx.pool is not None
        metrics = IngestMetrics(ctx.metrics.registry)
        producer = StreamProducer(ctx.redis, maxlen=settings.stream_maxlen)
        cycle = IngestCycle(settings, source, ctx.pool, producer, tracing=ctx.tracing)
        try:
            return await _loop(ctx, cycle, source, clock, metrics, last_success, stop, once)
        finally:
            await source.aclose()


async def _loop(
    ctx: ServiceContext[IngestSettings],
    cycle: IngestCycle,
    source: BinanceSource,
    clock: ExchangeClock,
    metrics: IngestMetrics,
    last_success: list[float],
    stop: asyncio.Event,
    once: bool,
) -> int:
    s = ctx.settings
    delay_ms = int(s.close_delay_seconds * 1000)
    done_target: int | None = None
    while not stop.is_set():
        ctx.heartbeat.beat()
        wait = 1.0
        try:
            now = await source.server_time()
            target = cycle_target(now, s.interval_ms, delay_ms)
            if once or target != done_target:
                with ctx.tracing.start_span("ingest.cycle", attributes={"soroka.target": target}):
                    result = await cycle.run(now)
                done_target = target
                last_success.append(time.time())
                del last_success[:-1]
                metrics.observe_cycle(result)
                metrics.cycles.labels("ok").inc()
                metrics.last_cycle.set(time.time())
                log.info(
                    "cycle %d: %d symbols, %d candles stored, %d messages, %d failed, %.2fs",
                    target,
                    result.universe,
                    result.candles_stored,
                    result.messages_published,
                    result.symbols_failed,
                    result.duration_s,
                )
                if once:
                    return 0 if result.symbols_failed == 0 else 1
            wait = clock.real_seconds(next_due_ms(now, s.interval_ms, delay_ms) - clock.now_ms())
            if not clock.calibrated:  # the exchange may run fast: sample its clock again soon
                wait = min(wait, 0.5)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a failed cycle must not kill the loop: it is retried, gaps are backfilled
            metrics.cycles.labels("failed").inc()
            log.warning("ingest cycle failed: %s", e, exc_info=not isinstance(e, OSError))
            if once:
                return 1
            wait = 2.0
        finally:
            metrics.observe_binance(source.http.stats)
        await sleep_unless_stopped(stop, min(max(wait, 0.05), 5.0))
    return 0
