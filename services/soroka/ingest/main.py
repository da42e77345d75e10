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
from soroka.ingest.leading import LeaderLease
from soroka.ingest.metrics import IngestMetrics
from soroka.ingest.scheduling import ExchangeClock, cycle_target, next_due_ms
from soroka.observability.health import Check, CheckResult
from soroka.service.context import ServiceContext, service_context
from soroka.service.running import consumer_name, run_async, sleep_unless_stopped
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
    runner: list[IngestRunner] = []

    async def last_cycle() -> CheckResult:
        if not runner:
            return CheckResult(False, "starting")
        return await runner[0].readiness()

    def checks(ctx: ServiceContext[IngestSettings]) -> list[Check]:
        return [Check("last_cycle", last_cycle)]

    async with service_context("ingest", settings, env_file, stop, checks=checks) as ctx:
        assert ctx.pool is not None
        clock = ExchangeClock()
        source = BinanceSource.from_settings(settings, clock)
        producer = StreamProducer(ctx.redis, maxlen=settings.stream_maxlen)
        cycle = IngestCycle(settings, source, ctx.pool, producer, tracing=ctx.tracing)
        lease = LeaderLease(ctx.redis, settings.strategy_name, consumer_name(settings.consumer_name))
        runner.append(IngestRunner(ctx, cycle, source, clock, IngestMetrics(ctx.metrics.registry), lease))
        try:
            return await runner[0].run(stop, once=once)
        finally:
            await source.aclose()
            if lease.leading:
                await lease.release()


class IngestRunner:
    """Runs a cycle shortly after each candle closes (by the exchange's clock) while holding the lease."""

    def __init__(
        self,
        ctx: ServiceContext[IngestSettings],
        cycle: IngestCycle,
        source: BinanceSource,
        clock: ExchangeClock,
        metrics: IngestMetrics,
        lease: LeaderLease,
    ) -> None:
        self.ctx, self.cycle, self.source, self.clock, self.metrics, self.lease = (
            ctx, cycle, source, clock, metrics, lease
        )  # fmt: skip
        self.last_success: float | None = None
        self.done_target: int | None = None

    async def readiness(self) -> CheckResult:
        """Ready while cycles succeed; a standby waiting for the lease is ready too."""
        if not self.lease.leading:
            return CheckResult(True, "standby: another ingest holds the lease")
        max_age = max(180.0, 3 * self.ctx.settings.interval_ms / 1000)
        if self.last_success is None:
            return CheckResult(False, "no successful cycle yet")
        age = time.time() - self.last_success
        return CheckResult(age <= max_age, f"last cycle {age:.0f}s ago (limit {max_age:.0f}s)")

    async def run(self, stop: asyncio.Event, *, once: bool) -> int:
        while not stop.is_set():
            self.ctx.heartbeat.beat()
            if not once and not await self.lease.hold():
                await sleep_unless_stopped(stop, self.lease.ttl_ms / 3000)
                continue
            try:
                wait = await self.step(once)
            except asyncio.CancelledError:
                raise
            except (
                Exception
            ) as e:  # a failed cycle must not kill the loop: it is retried, gaps are backfilled
                self.metrics.cycles.labels("failed").inc()
                log.warning("ingest cycle failed: %s", e, exc_info=not isinstance(e, OSError))
                if once:
                    return 1
                wait = 2.0
            finally:
                self.metrics.observe_binance(self.source.http.stats)
            if once:
                return 0 if wait >= 0 else 1
            await sleep_unless_stopped(stop, min(max(wait, 0.05), 5.0))
        return 0

    async def step(self, once: bool) -> float:
        """One look at the exchange clock; runs the cycle when a new candle closed. Returns the wait."""
        s = self.ctx.settings
        delay_ms = int(s.close_delay_seconds * 1000)
        now = await self.source.server_time()
        target = cycle_target(now, s.interval_ms, delay_ms)
        if once or target != self.done_target:
            with self.ctx.tracing.start_span("ingest.cycle", attributes={"soroka.target": target}):
                result = await self.cycle.run(now)
            self.done_target = target
            self.last_success = time.time()
            self.metrics.observe_cycle(result)
            self.metrics.cycles.labels("ok").inc()
            self.metrics.last_cycle.set(self.last_success)
            log.info(
                "cycle %d: %d symbols, %d candles stored, %d messages, %d failed, %.2fs",
                target, result.universe, result.candles_stored, result.messages_published,
                result.symbols_failed, result.duration_s,
            )  # fmt: skip
            if once:
                return -1.0 if result.symbols_failed else 0.0
        wait = self.clock.real_seconds(next_due_ms(now, s.interval_ms, delay_ms) - self.clock.now_ms())
        if not self.clock.calibrated:  # the exchange may run fast: sample its clock again soon
            wait = min(wait, 0.5)
        return wait
