"""Consumer-group consumption: ack after durable effects, reclaim dead consumers' work, dead-letter poison.

A handler raises ``TemporaryError`` (or any unexpected exception) to leave a message pending: it is
retried after ``claim_idle_ms`` by this or another consumer. A ``PermanentError`` or an undecodable
message goes to the dead-letter stream ``<stream>:dead`` and is acknowledged. A message delivered
``dead_letter_after`` times without success is dead-lettered too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from soroka.core.messages import MessageError
from soroka.observability.metrics import ServiceMetrics
from soroka.service.running import sleep_unless_stopped

log = logging.getLogger(__name__)
M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)


class Decoder(Protocol[M_co]):
    """Anything that turns stream fields into a typed message (a Message class, or a union decoder)."""

    def decode(self, fields: Mapping[Any, Any]) -> M_co: ...


class TemporaryError(Exception):
    """Processing failed for now (a dependency is down): leave the message pending and retry later."""


class PermanentError(Exception):
    """This message can never be processed: dead-letter it and move on."""


@dataclass
class ConsumerStats:
    processed: int = 0
    failed: int = 0
    reclaimed: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    last_batch_at: float = 0.0

    def dead(self, reason: str) -> None:
        self.dead_lettered[reason] = self.dead_lettered.get(reason, 0) + 1


Handler = Callable[[M, str], Awaitable[None]]


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class StreamConsumer(Generic[M]):
    """One consumer of a consumer group on one stream, decoding entries into `message_type`."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str,
        group: str,
        consumer: str,
        message_type: Decoder[M],
        handler: Handler[M],
        batch: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        dead_letter_after: int = 5,
        metrics: ServiceMetrics | None = None,
        label: str = "",
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        self.on_poll = on_poll  # e.g. the service's heartbeat: the loop is alive while it polls
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.message_type = message_type
        self.handler = handler
        self.batch = batch
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.dead_letter_after = dead_letter_after
        self.stats = ConsumerStats()
        self.metrics = metrics
        self.label = label or stream.rsplit(":", 1)[-1]
        self._last_claim = 0.0
        self._last_backlog = -1e9
        self.backlog_every_s = 5.0

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.stream}:dead"

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished first (graceful shutdown)."""
        await self.ensure_group()
        await self._drain_own_pending(stop)
        while not stop.is_set():
            try:
                await self.poll_once()
                await self._refresh_backlog()
            except (RedisError, OSError) as e:
                log.warning("redis unavailable on %s: %s; retrying", self.stream, e)
                await sleep_unless_stopped(stop, 1.0)

    async def poll_once(self) -> int:
        """Reclaim stale pending entries when due, then read new ones; returns entries handled."""
        if self.on_poll is not None:
            self.on_poll()
        handled = 0
        now = time.monotonic()
        if now - self._last_claim >= self.claim_idle_ms / 1000 / 2:
            self._last_claim = now
            handled += await self.reclaim()
        resp: Any = await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=self.batch, block=self.block_ms
        )
        for _, entries in resp or []:
            for entry_id, fields in entries:
                await self._handle(_s(entry_id), fields, deliveries=1)
                handled += 1
        self.stats.last_batch_at = time.time()
        return handled

    async def reclaim(self) -> int:
        """Take over entries idle longer than claim_idle_ms (their consumer died) and process them."""
        handled, start = 0, "0-0"
        while True:
            resp: Any = await self.client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=start,
                count=self.batch,
            )
            start, entries = _s(resp[0]), resp[1]
            for entry_id, fields in entries:
                if fields is None:
                    continue
                eid = _s(entry_id)
                self.stats.reclaimed += 1
                if self.metrics:
                    self.metrics.reclaimed(self.label)
                await self._handle(eid, fields, deliveries=await self._deliveries(eid))
                handled += 1
            if start == "0-0" or not entries:
                return handled

    async def _drain_own_pending(self, stop: asyncio.Event) -> None:
        """After a restart under the same name, finish what this consumer had read but not acked."""
        last = "0"
        while not stop.is_set():
            resp: Any = await self.client.xreadgroup(
                self.group, self.consumer, {self.stream: last}, count=self.batch
            )
            entries = resp[0][1] if resp else []
            if not entries:
                return
            for entry_id, fields in entries:
                last = _s(entry_id)
                if fields:
                    await self._handle(last, fields, deliveries=await self._deliveries(last))

    async def _deliveries(self, entry_id: str) -> int:
        info = await self.client.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(info[0]["times_delivered"]) if info else 1

    async def _handle(self, entry_id: str, fields: dict[Any, Any], *, deliveries: int) -> None:
        try:
            message = self.message_type.decode(fields)
        except MessageError as e:
            await self._dead_letter(entry_id, fields, "decode", str(e))
            return
        if deliveries > self.dead_letter_after:
            await self._dead_letter(entry_id, fields, "attempts", f"failed {deliveries - 1} times")
            return
        started = time.perf_counter()
        try:
            await self.handler(message, entry_id)
        except asyncio.CancelledError:
            raise
        except PermanentError as e:
            await self._dead_letter(entry_id, fields, "permanent", str(e))
            return
        except Exception as e:
            self.stats.failed += 1
            log.warning(
                "processing %s %s failed (attempt %d), left pending: %s", self.stream, entry_id, deliveries, e
            )
            return
        await self.client.xack(self.stream, self.group, entry_id)
        self.stats.processed += 1
        if self.metrics:
            self.metrics.processed(self.label)
            self.metrics.stream_processing_seconds.labels(self.metrics.service, self.label).observe(
                time.perf_counter() - started
            )

    async def _dead_letter(self, entry_id: str, fields: dict[Any, Any], reason: str, detail: str) -> None:
        body = {_s(k): _s(v) for k, v in fields.items()}
        body.update(
            {
                "dead_reason": reason,
                "dead_detail": detail[:2000],
                "dead_group": self.group,
                "dead_id": entry_id,
            }
        )
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter_stream, body, maxlen=100_000, approximate=True)  # type: ignore[arg-type]
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()
        self.stats.dead(reason)
        if self.metrics:
            self.metrics.dead_lettered(self.label, reason)
        log.error("dead-lettered %s %s (%s): %s", self.stream, entry_id, reason, detail)

    async def _refresh_backlog(self) -> None:
        """Keep this group's lag/pending gauges fresh (every `backlog_every_s`), whatever the service."""
        now = time.monotonic()
        if self.metrics is not None and now - self._last_backlog >= self.backlog_every_s:
            self._last_backlog = now
            await self.lag_and_pending()

    async def lag_and_pending(self) -> tuple[int, int]:
        """The group's lag (entries not yet delivered) and pending count (delivered, not acked)."""
        for g in await self.client.xinfo_groups(self.stream):
            if _s(g["name"]) == self.group:
                lag = g.get("lag")
                pending = int(g["pending"])
                if self.metrics:
                    self.metrics.set_backlog(
                        self.label, self.group, lag=None if lag is None else int(lag), pending=pending
                    )
                return (int(lag) if lag is not None else 0, pending)
        return (0, 0)
