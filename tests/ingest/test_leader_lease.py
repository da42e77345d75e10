"""One ingest per strategy: the leader lease in Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from soroka.ingest.leading import LeaderLease


async def test_a_second_ingest_stands_by_until_the_leader_releases_or_stops_renewing(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    a = LeaderLease(redis_client, strategy, "pod-a", ttl_ms=1500)
    b = LeaderLease(redis_client, strategy, "pod-b", ttl_ms=1500)
    assert await a.hold() and not await b.hold()
    assert await a.hold()  # renewing keeps it
    await a.release()
    assert await b.hold() and not await a.hold()
    await asyncio.sleep(1.6)  # b dies without renewing: its lease expires
    assert await a.hold() and not await b.hold()
