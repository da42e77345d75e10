"""Analyze workers in a consumer group: events stored once, signals published once, dead workers' work reclaimed."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import numpy as np
import redis.asyncio as aioredis

from soroka.analyze.main import GROUP
from soroka.analyze.publishing import SignalPublisher
from soroka.analyze.service import AnalyzeMetrics, Analyzer
from soroka.core.candles import CandleArrays
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, Figures24h, SignalMessage, stream_key
from soroka.core.settings import AnalyzeSettings
from soroka.observability.metrics import new_registry
from soroka.observability.tracing import Tracing
from soroka.streams.consuming import StreamConsumer
from soroka.streams.producing import StreamProducer

MINUTE = 60_000
T0 = 1_758_000_000_000 - 1_758_000_000_000 % MINUTE
LIQUID = Figures24h(quote_volume=5e8, trade_count=2_000_000, high=1.1, low=1.0, last_price=1.05)


def planted_series(n: int, breakouts: list[int], seed: int = 7) -> CandleArrays:
    """A quiet random walk; before each breakout index a clear swing high, then a decisive BOS_UP candle."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.0005, n)
    r[breakouts] = 0.015
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.0003
    low = np.minimum(open_, close) * 0.9997
    vol = rng.uniform(90, 110, n)
    for b in breakouts:
        high[b - 6] = high[b - 11 : b].max() * 1.002
        vol[b] = 500
    ot = T0 + np.arange(n, dtype=np.int64) * MINUTE
    return CandleArrays(ot, open_, high, low, close, vol, vol * close, np.full(n, 1000, dtype=np.int64))


def messages(strategy: str, candles: CandleArrays, window: int, start: int) -> list[CandlesMessage]:
    rows = [candles.candle(i).row() for i in range(len(candles))]
    return [
        CandlesMessage(
            strategy=strategy,
            symbol="PLANTUSDT",
            interval="1m",
            candles=rows[max(0, t + 1 - window) : t + 1],
            ticker=LIQUID,
            liquidity_rank=1,
            universe_size=1,
            published_at=0,
        )
        for t in range(start, len(rows))
    ]


def settings_for(strategy: str, redis_url: str, database_url: str) -> AnalyzeSettings:
    return load_settings(
        AnalyzeSettings,
        environ={},
        strategy_name=strategy,
        redis_url=redis_url,
        database_url=database_url,
        confidence_min=0.0,
        confidence_max=1.0,
        candle_window=60,
        trade_queue_name=f"{strategy}_queue",
    )


async def run_workers(
    settings: AnalyzeSettings,
    client: aioredis.Redis,
    pool: asyncpg.Pool,
    names: list[str],
    *,
    kill: str | None = None,
) -> None:
    stream = stream_key(settings.strategy_name, "candles")
    stop = asyncio.Event()
    analyzers = {
        n: Analyzer(
            settings,
            pool,
            SignalPublisher(client, settings.strategy_name),
            AnalyzeMetrics(new_registry()),
            Tracing(None, settings.strategy_name),
        )
        for n in names
    }
    hang = asyncio.Event()

    def consumer(n: str) -> StreamConsumer[CandlesMessage]:
        async def handle(m: CandlesMessage, eid: str) -> None:
            if n == kill:
                await hang.wait()  # dies holding messages it read but never acknowledged
            await analyzers[n].handle(m, eid)

        return StreamConsumer(
            client,
            stream=stream,
            group=GROUP,
            consumer=n,
            message_type=CandlesMessage,
            handler=handle,
            batch=10,
            block_ms=50,
            claim_idle_ms=1000,
        )

    consumers = [consumer(n) for n in names]
    await consumers[0].ensure_group()
    tasks = {c.consumer: asyncio.create_task(c.run(stop)) for c in consumers}
    if kill:
        await asyncio.sleep(0.3)
        tasks.pop(kill).cancel()
    live = [c for c in consumers if c.consumer != kill]
    for _ in range(400):
        lag, pending = await live[0].lag_and_pending()
        if lag == 0 and pending == 0:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks.values())


async def test_a_planted_breakout_becomes_one_stored_event_and_one_signal_on_both_streams(
    redis_client: aioredis.Redis, redis_url: str, database_url: str, pool: asyncpg.Pool, strategy: str
) -> None:
    s = settings_for(strategy, redis_url, database_url)
    candles = planted_series(80, [50])
    await StreamProducer(redis_client).publish_many(
        stream_key(strategy, "candles"), messages(strategy, candles, 60, 10)
    )
    await run_workers(s, redis_client, pool, ["a"])
    rows = await pool.fetch("SELECT * FROM events WHERE strategy = $1", strategy)
    assert [(r["type"], r["open_time"]) for r in rows] == [("BOS_UP", int(candles.open_time[50]))]
    verdicts = json.loads(rows[0]["verdicts"])
    assert {v["name"] for v in verdicts} >= {
        "event_type",
        "confidence",
        "liquidity",
        "trade_count",
        "volatility",
    }
    sig = await redis_client.xrange(stream_key(strategy, "signals"))
    queue = await redis_client.xrange(s.trade_queue_name)
    await redis_client.delete(s.trade_queue_name)
    assert len(sig) == 1 and len(queue) == 1
    signal = SignalMessage.decode(sig[0][1])
    assert signal.close_time == int(candles.open_time[50]) + MINUTE - 1
    assert signal.level < signal.close and signal.strength >= s.bos_strength_threshold


async def test_a_redelivered_message_never_yields_a_second_event_or_signal(
    redis_client: aioredis.Redis, redis_url: str, database_url: str, pool: asyncpg.Pool, strategy: str
) -> None:
    s = settings_for(strategy, redis_url, database_url)
    candles = planted_series(80, [50])
    msg = messages(strategy, candles, 60, 50)[0]
    analyzer = Analyzer(
        s,
        pool,
        SignalPublisher(redis_client, strategy),
        AnalyzeMetrics(new_registry()),
        Tracing(None, strategy),
    )
    for _ in range(3):
        await analyzer.handle(msg, "1-0")
    assert await pool.fetchval("SELECT count(*) FROM events WHERE strategy = $1", strategy) == 1
    assert await redis_client.xlen(stream_key(strategy, "signals")) == 1


async def test_three_workers_one_killed_mid_stream_every_event_exactly_once(
    redis_client: aioredis.Redis, redis_url: str, database_url: str, pool: asyncpg.Pool, strategy: str
) -> None:
    s = settings_for(strategy, redis_url, database_url)
    planted = [40, 70, 100, 130, 160, 190]
    candles = planted_series(220, planted)
    await StreamProducer(redis_client).publish_many(
        stream_key(strategy, "candles"), messages(strategy, candles, 60, 10)
    )
    await run_workers(s, redis_client, pool, ["a", "b", "c"], kill="b")
    rows = await pool.fetch(
        "SELECT open_time, type FROM events WHERE strategy = $1 ORDER BY open_time", strategy
    )
    up = [r["open_time"] for r in rows if r["type"] == "BOS_UP"]
    assert up == sorted(set(up))
    assert {int(candles.open_time[b]) for b in planted} <= set(up)
    signals = [
        SignalMessage.decode(f).event_id
        for _, f in await redis_client.xrange(stream_key(strategy, "signals"))
    ]
    assert len(signals) == len(set(signals)) == len(up)
    info = {g["name"].decode(): g for g in await redis_client.xinfo_groups(stream_key(strategy, "candles"))}
    assert info[GROUP]["pending"] == 0
