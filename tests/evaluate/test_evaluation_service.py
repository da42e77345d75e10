"""The evaluate worker: horizons decided from stored candles, unavailable when missing, resumable, reported once."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

from soroka.core.candles import Candle
from soroka.core.configuring import load_settings
from soroka.core.messages import ReportMessage, SignalMessage, stream_key
from soroka.core.settings import EvaluateServiceSettings, EventType
from soroka.evaluate.service import EvaluateMetrics, Evaluator
from soroka.observability.metrics import new_registry
from soroka.observability.tracing import Tracing
from soroka.storage import market
from soroka.storage.events import store_event
from soroka.streams.producing import StreamProducer

MINUTE = 60_000
T0 = 1_758_000_000_000 - 1_758_000_000_000 % MINUTE


def candle(minute: int, close: float) -> Candle:
    return Candle(T0 + minute * MINUTE, close, close * 1.01, close * 0.99, close, 10, 10 * close, 5)


async def signal_for(pool: asyncpg.Pool, strategy: str, type_: EventType = EventType.BOS_UP) -> SignalMessage:
    sig = SignalMessage(
        event_id=f"{strategy}:X:{type_.value}",
        strategy=strategy,
        symbol="XUSDT",
        type=type_,
        open_time=T0,
        close_time=T0 + MINUTE - 1,
        close=100.0,
        level=99.0,
        strength=1.01,
        volume_ratio=2,
        body_ratio=0.8,
        confidence=0.6,
        published_at=T0 + MINUTE,
    )
    async with pool.acquire() as conn:
        await store_event(
            conn,
            event_id=sig.event_id,
            strategy=strategy,
            symbol="XUSDT",
            type=type_.value,
            interval="1m",
            open_time=T0,
            close=100.0,
            level=99.0,
            strength=1.01,
            volume_ratio=2,
            body_ratio=0.8,
            confidence=0.6,
            metrics={},
            verdicts=[],
            passed=True,
        )
    return sig


def evaluator(strategy: str, pool: asyncpg.Pool, client: aioredis.Redis, **kw: object) -> Evaluator:
    s = load_settings(EvaluateServiceSettings, environ={}, strategy_name=strategy, fee_pct=0.001, **kw)
    return Evaluator(
        s, pool, StreamProducer(client), EvaluateMetrics(new_registry()), Tracing(None, strategy)
    )


async def reports(client: aioredis.Redis, strategy: str) -> list[ReportMessage]:
    return [ReportMessage.decode(f) for _, f in await client.xrange(stream_key(strategy, "reports"))]


async def test_a_final_report_has_all_six_horizons_and_a_missing_candle_is_unavailable(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sig = await signal_for(pool, strategy)
    ev = evaluator(strategy, pool, redis_client)
    await ev.on_signal(sig, "1-0")
    minutes = [m for m in range(0, 17) if m != 5]  # the 5-minute candle never came
    await market.store_candles(pool, "1m", [("XUSDT", candle(m, 100 + m)) for m in minutes])
    assert await ev.evaluate_pending() == 1
    (report,) = await reports(redis_client, strategy)
    assert report.final
    assert report.pnl == {"1": 1.0, "2": 2.0, "3": 3.0, "5": None, "10": 10.0, "15": 15.0}
    assert report.pnl_net["1"] == pytest.approx(1.0 - 0.2)
    assert report.mfe == pytest.approx(100 * (115 * 1.01 - 100) / 100)  # minutes 1..15 only
    assert report.mae == pytest.approx(100 * (101 * 0.99 - 100) / 100)


async def test_nothing_is_reported_before_the_last_horizon_and_a_restart_resumes_without_duplicates(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sig = await signal_for(pool, strategy, EventType.BOS_DOWN)
    first = evaluator(strategy, pool, redis_client)
    await first.on_signal(sig, "1-0")
    await first.on_signal(sig, "1-0")  # redelivered
    await market.store_candles(pool, "1m", [("XUSDT", candle(m, 100 - m)) for m in range(0, 8)])
    assert await first.evaluate_pending() == 0
    assert await reports(redis_client, strategy) == []
    restarted = evaluator(strategy, pool, redis_client)
    await market.store_candles(pool, "1m", [("XUSDT", candle(m, 100 - m)) for m in range(8, 16)])
    assert await restarted.evaluate_pending() == 1
    assert await restarted.evaluate_pending() == 0
    (report,) = await reports(redis_client, strategy)
    assert report.pnl["15"] == pytest.approx(15.0)  # a short gains as price falls


async def test_per_horizon_reports_when_configured(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sig = await signal_for(pool, strategy)
    ev = evaluator(strategy, pool, redis_client, report_each_horizon=True)
    await ev.on_signal(sig, "1-0")
    for m in range(0, 16):
        await market.store_candles(pool, "1m", [("XUSDT", candle(m, 100.0))])
        await ev.evaluate_pending()
    got = await reports(redis_client, strategy)
    assert [len(r.pnl) for r in got] == [1, 2, 3, 4, 5, 6]
    assert [r.final for r in got] == [False] * 5 + [True]


async def test_a_signal_whose_symbol_goes_silent_is_closed_with_unavailable_horizons(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    sig = await signal_for(pool, strategy)
    ev = evaluator(strategy, pool, redis_client)
    await ev.on_signal(sig, "1-0")
    await market.store_candles(pool, "1m", [("XUSDT", candle(m, 100 + m)) for m in range(0, 3)])
    # XUSDT is delisted after minute 2; the market goes on (the ingest publishes other symbols' minutes).
    await market.advance_publish_cursors(pool, strategy, "1m", {"YUSDT": T0 + 74 * MINUTE})
    assert await ev.evaluate_pending() == 0
    await market.advance_publish_cursors(pool, strategy, "1m", {"YUSDT": T0 + 75 * MINUTE})
    assert await ev.evaluate_pending() == 1
    (report,) = await reports(redis_client, strategy)
    assert report.pnl == {"1": 1.0, "2": 2.0, "3": None, "5": None, "10": None, "15": None}
