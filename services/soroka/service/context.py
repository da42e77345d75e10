"""What every service process wires at start: logging, tracing, metrics, Redis, Postgres, health endpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
import redis.asyncio as aioredis
from pydantic_settings import BaseSettings

from soroka.core.configuring import masked_dump
from soroka.core.settings import ConnectionSettings
from soroka.observability.health import (
    Check,
    Heartbeat,
    create_health_app,
    postgres_check,
    redis_check,
    serve_http,
)
from soroka.observability.logs import configure_logging, log_effective_config
from soroka.observability.metrics import ServiceMetrics, new_registry
from soroka.observability.tracing import Tracing
from soroka.service.reloading import SettingsReloader
from soroka.service.running import consumer_name, sleep_unless_stopped
from soroka.storage.pools import create_pool
from soroka.streams.consuming import Decoder, StreamConsumer

S = TypeVar("S", bound=BaseSettings)
M = TypeVar("M")
log = logging.getLogger(__name__)


@dataclass
class ServiceContext(Generic[S]):
    """A running service's shared parts; `settings` follows hot reloads of the env file."""

    service: str
    settings: S
    metrics: ServiceMetrics
    tracing: Tracing
    redis: aioredis.Redis
    pool: asyncpg.Pool | None
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    http_port: int = 0
    on_reload: list[Callable[[S], Awaitable[None] | None]] = field(default_factory=list)

    def consumer(
        self,
        stream: str,
        group: str,
        decoder: Decoder[M],
        handler: Callable[[M, str], Awaitable[None]],
        *,
        label: str = "",
    ) -> StreamConsumer[M]:
        """A consumer of `stream` in `group`, named and tuned by the connection settings, reporting metrics."""
        conn: ConnectionSettings = self.settings  # type: ignore[assignment]
        return StreamConsumer(
            self.redis,
            stream=stream,
            group=group,
            consumer=consumer_name(conn.consumer_name),
            message_type=decoder,
            handler=handler,
            claim_idle_ms=conn.claim_idle_ms,
            dead_letter_after=conn.dead_letter_after,
            metrics=self.metrics,
            label=label,
            on_poll=self.heartbeat.beat,
        )

    async def repeat(
        self, stop: asyncio.Event, what: str, step: Callable[[], Awaitable[object]], every: float
    ) -> None:
        """Run `step` every `every` seconds until stopped; a failed step is logged and tried again next time."""
        while not stop.is_set():
            self.heartbeat.beat()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except (
                Exception
            ) as e:  # the work stays where it is (pending rows, open positions) for the next pass
                log.warning("%s failed: %s", what, e)
            await sleep_unless_stopped(stop, every)

    async def _apply(self, new: S) -> None:
        self.settings = new
        for cb in self.on_reload:
            result = cb(new)
            if result is not None:
                await result


@asynccontextmanager
async def service_context(
    service: str,
    settings: S,
    env_file: Path | None,
    stop: asyncio.Event,
    *,
    needs_db: bool = True,
    checks: Callable[[ServiceContext[S]], Sequence[Check]] = lambda ctx: (),
    liveness_max_age: float = 120.0,
) -> AsyncIterator[ServiceContext[S]]:
    """Start the shared parts, serve /healthz /readyz /metrics /config on HTTP_PORT, watch the env file."""
    assert isinstance(settings, ConnectionSettings)
    conn: ConnectionSettings = settings
    configure_logging(service, conn.strategy_name, conn.log_level)
    log_effective_config(log, settings)
    registry = new_registry()
    metrics = ServiceMetrics(registry, service)
    metrics.set_config(settings)
    tracing = Tracing.from_env(service, conn.strategy_name)
    async with AsyncExitStack() as stack:
        client = aioredis.from_url(conn.redis_url)
        stack.push_async_callback(client.aclose)
        pool = None
        if needs_db:
            pool = await create_pool(conn.database_url)
            stack.push_async_callback(pool.close)
        ctx = ServiceContext(service, settings, metrics, tracing, client, pool)
        metrics.watch_heartbeat(ctx.heartbeat.age)
        readiness = [redis_check(client), *([postgres_check(pool)] if pool is not None else []), *checks(ctx)]
        app = create_health_app(
            service=service,
            registry=registry,
            readiness=readiness,
            liveness=ctx.heartbeat.liveness(liveness_max_age),
            config=lambda: masked_dump(ctx.settings),
        )
        ctx.http_port = await stack.enter_async_context(serve_http(app, conn.http_host, conn.http_port))
        log.info("%s serving health and metrics on port %d", service, ctx.http_port)
        if env_file is not None:
            reloader = SettingsReloader(type(settings), env_file, settings, ctx._apply, metrics=metrics)
            task = asyncio.create_task(reloader.run(stop))
            stack.push_async_callback(_cancel, task)
        stack.callback(tracing.shutdown)
        yield ctx


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Stop a helper task and wait for it, without swallowing a cancellation of our own caller."""
    task.cancel()
    await asyncio.wait([task])
