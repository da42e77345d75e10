"""The publish service end to end: streams -> Postgres outbox -> real aiogram -> the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import httpx
import redis.asyncio as aioredis
from telegram_fakes import TOKEN, FakeClock, RunningFake

from soroka.core.configuring import load_settings
from soroka.core.messages import ReportMessage, ReportsStream, SignalMessage, stream_key
from soroka.core.settings import EventType, PublishSettings
from soroka.observability.metrics import new_registry
from soroka.observability.tracing import Tracing
from soroka.publish.main import GROUP
from soroka.publish.service import Publisher, PublishMetrics
from soroka.publish.telegram import TelegramSender
from soroka.streams.consuming import StreamConsumer
from soroka.streams.producing import StreamProducer

Start = Callable[..., AbstractAsyncContextManager[RunningFake]]
CHAT = "-100777"
MINUTE = 60_000
T0 = 1_767_225_600_000  # the fake clock's start, 2026-01-01 00:00 UTC


def signal(strategy: str, i: int, minute: int = 0) -> SignalMessage:
    ot = T0 + minute * MINUTE
    return SignalMessage(
        event_id=f"{strategy}:S{i}USDT:1m:BOS_UP:{ot}",
        strategy=strategy,
        symbol=f"S{i}USDT",
        type=EventType.BOS_UP,
        open_time=ot,
        close_time=ot + MINUTE - 1,
        close=1.0 + i,
        level=0.99 + i,
        strength=1.01,
        volume_ratio=2.0,
        body_ratio=0.8,
        confidence=0.6,
        published_at=ot + MINUTE,
        metrics={"quote_volume_24h": 2e7, "trade_count_24h": 4e5, "volatility_24h": 0.1},
    )


def report(sig: SignalMessage) -> ReportMessage:
    return ReportMessage(
        event_id=sig.event_id,
        strategy=sig.strategy,
        symbol=sig.symbol,
        type=sig.type,
        open_time=sig.open_time,
        entry=sig.close,
        confidence=sig.confidence,
        pnl={"1": 0.1, "2": 0.2, "3": None, "5": 0.5, "10": 1.0, "15": -0.3},
        pnl_net={},
        mfe=1.2,
        mae=-0.4,
    )


@asynccontextmanager
async def publisher(
    fake: RunningFake, clock: FakeClock, pool: asyncpg.Pool, strategy: str, **kw: object
) -> AsyncIterator[Publisher]:
    s = load_settings(
        PublishSettings,
        environ={},
        strategy_name=strategy,
        telegram_bot_token=TOKEN,
        telegram_chat_id=CHAT,
        telegram_api_url=fake.url,
        summary_interval_minutes=0,
        **kw,
    )
    sender = TelegramSender.from_settings(s, sleep=clock.sleep)
    sender.limiter.clock = clock
    p = Publisher(
        s,
        pool,
        sender,
        PublishMetrics(new_registry()),
        Tracing(None, strategy),
        now_ms=lambda: int(clock() * 1000),
    )
    await p.recover()
    try:
        yield p
    finally:
        await sender.close()


async def consume(p: Publisher, client: aioredis.Redis) -> None:
    """Drain both streams into the outbox, as the service's consumers do."""
    signals_stream, reports_stream = p.streams()
    for stream, decoder, handler in (
        (signals_stream, SignalMessage, p.on_signal),
        (reports_stream, ReportsStream, p.on_report),
    ):
        c = StreamConsumer(
            client,
            stream=stream,
            group=GROUP,
            consumer="c",
            message_type=decoder,
            handler=handler,
            block_ms=10,
        )  # type: ignore[arg-type]
        await c.ensure_group()
        while await c.poll_once():
            pass


async def test_a_burst_of_fifty_signals_is_coalesced_into_digests_and_reports_reply_to_them(
    start_fake: Start, fake_clock: FakeClock, pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sigs = [signal(strategy, i) for i in range(50)]
    await StreamProducer(redis_client).publish_many(stream_key(strategy, "signals"), sigs)
    async with start_fake(clock=fake_clock) as fake, publisher(fake, fake_clock, pool, strategy) as p:
        await consume(p, redis_client)
        await p.deliver()
        await StreamProducer(redis_client).publish_many(
            stream_key(strategy, "reports"), [report(sigs[0]), report(sigs[45])]
        )
        await consume(p, redis_client)
        await p.deliver()
        posted = fake.state.messages(CHAT)
    digests, replies = posted[:2], posted[2:]
    assert all(s.symbol in digests[0]["text"] + digests[1]["text"] for s in sigs)
    assert [r["reply_to"] for r in replies] == [digests[0]["message_id"], digests[1]["message_id"]]
    assert "15m" in replies[0]["text"] or "15" in replies[0]["text"]


async def test_429s_are_waited_out_the_limit_holds_and_a_restart_mid_burst_posts_nothing_twice(
    start_fake: Start, fake_clock: FakeClock, pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sigs = [signal(strategy, i, minute=i) for i in range(30)]
    await StreamProducer(redis_client).publish_many(stream_key(strategy, "signals"), sigs)
    async with start_fake(clock=fake_clock, per_chat_limit=20, per_chat_window=60.0) as fake:
        async with httpx.AsyncClient() as admin:
            await admin.post(
                f"{fake.url}/fake/faults", json={"kind": "retry_after", "retry_after": 3, "count": 2}
            )
        async with publisher(fake, fake_clock, pool, strategy, digest_threshold=100) as first:
            await consume(first, redis_client)
            task = asyncio.create_task(first.deliver())
            while len(fake.state.messages(CHAT)) < 12:
                await asyncio.sleep(0.01)
            task.cancel()  # killed mid-burst
            await asyncio.gather(task, return_exceptions=True)
            waited = first.sink.stats.retry_after
        await consume(first, redis_client)  # a redelivered stream message changes nothing
        async with publisher(fake, fake_clock, pool, strategy, digest_threshold=100) as second:
            await second.deliver()
        stats = fake.state.snapshot()
        texts = [m["text"] for m in fake.state.messages(CHAT)]
    assert waited == 2
    assert stats["max_per_chat_in_window"] <= 20
    posted = [s.symbol for s in sigs if any(f"{s.symbol}" in t for t in texts)]
    assert len(texts) == len(set(texts))  # nothing posted twice
    unknown = await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE strategy = $1 AND status = 'unknown'", strategy
    )
    assert len(posted) + unknown >= 30 and unknown <= 1


async def test_stale_signals_are_not_posted_and_counted(
    start_fake: Start, fake_clock: FakeClock, pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    old = signal(strategy, 1, minute=-10)
    await StreamProducer(redis_client).publish(stream_key(strategy, "signals"), old)
    async with start_fake(clock=fake_clock) as fake, publisher(fake, fake_clock, pool, strategy) as p:
        await consume(p, redis_client)
        await p.deliver()
        assert fake.state.messages(CHAT) == []
    status = await pool.fetchval("SELECT status FROM deliveries WHERE ref = $1", old.event_id)
    assert status == "stale"


async def test_in_edit_mode_the_report_edits_the_signal_message(
    start_fake: Start, fake_clock: FakeClock, pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sig = signal(strategy, 7)
    await StreamProducer(redis_client).publish(stream_key(strategy, "signals"), sig)
    async with (
        start_fake(clock=fake_clock) as fake,
        publisher(fake, fake_clock, pool, strategy, report_mode="edit") as p,
    ):
        await consume(p, redis_client)
        await p.deliver()
        await StreamProducer(redis_client).publish(stream_key(strategy, "reports"), report(sig))
        await consume(p, redis_client)
        await p.deliver()
        posted = fake.state.messages(CHAT)
    assert len(posted) == 1
    assert "S7USDT" in posted[0]["text"] and posted[0].get("edits")


async def test_the_periodic_summary_posts_hit_rates_per_horizon_from_final_evaluations(
    start_fake: Start, fake_clock: FakeClock, pool: asyncpg.Pool, strategy: str
) -> None:
    from soroka.storage.events import store_event

    for i, (conf, pnl1) in enumerate([(0.5, 1.0), (0.55, -0.5), (0.72, 2.0)]):
        eid = f"{strategy}:e{i}"
        async with pool.acquire() as conn:
            await store_event(
                conn,
                event_id=eid,
                strategy=strategy,
                symbol="XUSDT",
                type="BOS_UP",
                interval="1m",
                open_time=T0 - 3600_000,
                close=1.0,
                level=0.99,
                strength=1.01,
                volume_ratio=2,
                body_ratio=0.8,
                confidence=conf,
                metrics={},
                verdicts=[],
                passed=True,
            )
            await conn.execute(
                """INSERT INTO performance (event_id, strategy, symbol, type, open_time, entry, confidence, pnl, final)
                   VALUES ($1, $2, 'XUSDT', 'BOS_UP', $3, 1.0, $4, $5::jsonb, true)""",
                eid,
                strategy,
                T0 - 3600_000,
                conf,
                f'{{"1": {pnl1}, "15": null}}',
            )
    async with start_fake(clock=fake_clock) as fake, publisher(fake, fake_clock, pool, strategy) as p:
        await p.on_signal(signal(strategy, 9, minute=-10), "1-0")  # 10 minutes old: not posted, listed
        assert await p.post_summary() == 1
        (post,) = fake.state.messages(CHAT)
    assert "Skipped 1 stale signal" in post["text"] and "S9USDT" in post["text"]
    one_minute = next(line for line in post["text"].splitlines() if line.startswith(" 1m"))
    assert one_minute.split() == ["1m", "3", "67", "+0.83"]  # 2 of 3 positive, mean (1 - 0.5 + 2) / 3
