"""Consumer groups: ack after effects, reclaim from dead consumers, dead-letter poison messages."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from soroka.core.messages import Figures24h, ReportMessage, stream_key
from soroka.core.settings import EventType
from soroka.streams.consuming import PermanentError, StreamConsumer
from soroka.streams.producing import StreamProducer


def _report(i: int) -> ReportMessage:
    return ReportMessage(
        event_id=f"e{i}",
        strategy="s",
        symbol="BTCUSDT",
        type=EventType.BOS_UP,
        open_time=i,
        entry=1.0,
        confidence=0.5,
        pnl={"1": 0.1},
    )


def _consumer(
    client: aioredis.Redis, stream: str, name: str, seen: list[str], **kw: object
) -> StreamConsumer[ReportMessage]:
    async def handle(m: ReportMessage, entry_id: str) -> None:
        seen.append(m.event_id)

    return StreamConsumer(
        client,
        stream=stream,
        group="g",
        consumer=name,
        message_type=ReportMessage,
        handler=handle,
        block_ms=50,
        **kw,  # type: ignore[arg-type]
    )


async def test_messages_are_acknowledged_only_after_the_handler_succeeds(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    stream = stream_key(strategy, "reports")
    await StreamProducer(redis_client).publish_many(stream, [_report(i) for i in range(3)])
    calls: list[str] = []

    async def flaky(m: ReportMessage, entry_id: str) -> None:
        calls.append(m.event_id)
        if m.event_id == "e1":
            raise RuntimeError("database down")

    c = StreamConsumer(
        redis_client,
        stream=stream,
        group="g",
        consumer="a",
        message_type=ReportMessage,
        handler=flaky,
        block_ms=50,
        claim_idle_ms=1000,
    )
    await c.ensure_group()
    await c.poll_once()
    assert calls == ["e0", "e1", "e2"]
    lag, pending = await c.lag_and_pending()
    assert (lag, pending) == (0, 1)


async def test_a_dead_consumers_pending_messages_are_reclaimed_by_a_live_one(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    stream = stream_key(strategy, "reports")
    await StreamProducer(redis_client).publish_many(stream, [_report(i) for i in range(5)])
    # Consumer "dead" reads everything and dies before acknowledging.
    await redis_client.xgroup_create(stream, "g", id="0", mkstream=True)
    await redis_client.xreadgroup("g", "dead", {stream: ">"}, count=10)
    seen: list[str] = []
    live = _consumer(redis_client, stream, "live", seen, claim_idle_ms=1000)
    await live.poll_once()
    assert seen == []  # not idle long enough yet
    await asyncio.sleep(1.1)
    await live.reclaim()
    assert sorted(seen) == [f"e{i}" for i in range(5)]
    assert live.stats.reclaimed == 5
    assert (await live.lag_and_pending())[1] == 0


async def test_undecodable_and_permanently_failing_messages_go_to_the_dead_letter_stream(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    stream = stream_key(strategy, "reports")
    await redis_client.xadd(stream, {"v": "1", "kind": "report", "data": "{not json"})
    await redis_client.xadd(stream, {"v": "9", "kind": "report", "data": "{}"})
    await StreamProducer(redis_client).publish(stream, _report(7))

    async def reject(m: ReportMessage, entry_id: str) -> None:
        raise PermanentError("symbol delisted")

    c = StreamConsumer(
        redis_client,
        stream=stream,
        group="g",
        consumer="a",
        message_type=ReportMessage,
        handler=reject,
        block_ms=50,
    )
    await c.ensure_group()
    await c.poll_once()
    dead = await redis_client.xrange(f"{stream}:dead")
    reasons = [f[b"dead_reason"].decode() for _, f in dead]
    assert reasons == ["decode", "decode", "permanent"]
    assert b"unsupported schema version" in dead[1][1][b"dead_detail"]
    assert (await c.lag_and_pending())[1] == 0


async def test_a_message_failing_too_often_is_dead_lettered_not_retried_forever(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    stream = stream_key(strategy, "reports")
    await StreamProducer(redis_client).publish(stream, _report(1))
    attempts: list[int] = []

    async def always_fails(m: ReportMessage, entry_id: str) -> None:
        attempts.append(1)
        raise RuntimeError("boom")

    c = StreamConsumer(
        redis_client,
        stream=stream,
        group="g",
        consumer="a",
        message_type=ReportMessage,
        handler=always_fails,
        block_ms=10,
        claim_idle_ms=1000,
        dead_letter_after=2,
    )
    await c.ensure_group()
    await c.poll_once()
    c.claim_idle_ms = 0
    for _ in range(3):
        await c.reclaim()
    assert len(attempts) == 2
    dead = await redis_client.xrange(f"{stream}:dead")
    assert [f[b"dead_reason"] for _, f in dead] == [b"attempts"]


async def test_a_restarted_consumer_finishes_its_own_pending_messages_first(
    redis_client: aioredis.Redis, strategy: str
) -> None:
    stream = stream_key(strategy, "reports")
    await StreamProducer(redis_client).publish_many(stream, [_report(i) for i in range(3)])
    await redis_client.xgroup_create(stream, "g", id="0", mkstream=True)
    await redis_client.xreadgroup("g", "pod-1", {stream: ">"}, count=2)
    seen: list[str] = []
    c = _consumer(redis_client, stream, "pod-1", seen)
    stop = asyncio.Event()
    task = asyncio.create_task(c.run(stop))
    for _ in range(100):
        if len(seen) == 3:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert seen == ["e0", "e1", "e2"]


def test_figures_volatility_is_range_over_low() -> None:
    f = Figures24h(quote_volume=1.0, trade_count=1, high=1.2, low=1.0, last_price=1.1)
    assert abs(f.volatility - 0.2) < 1e-12
