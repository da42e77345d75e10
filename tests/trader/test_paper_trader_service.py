"""The paper trader service: positions stored, closed by stored candles, reported, restored after a restart."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis

from soroka.core.candles import Candle
from soroka.core.configuring import load_settings
from soroka.core.messages import ReportsStream, SignalMessage, TradeMessage, stream_key
from soroka.core.settings import EventType, TraderSettings
from soroka.observability.metrics import new_registry
from soroka.observability.tracing import Tracing
from soroka.storage import market
from soroka.streams.producing import StreamProducer
from soroka.trader.service import PaperTrader, TraderMetrics

MINUTE = 60_000
T0 = 1_758_000_000_000 - 1_758_000_000_000 % MINUTE


def signal(strategy: str, symbol: str = "AUSDT", type_: EventType = EventType.BOS_UP) -> SignalMessage:
    return SignalMessage(
        event_id=f"{strategy}:{symbol}:{type_.value}:{T0}",
        strategy=strategy,
        symbol=symbol,
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


def trader(strategy: str, pool: asyncpg.Pool, client: aioredis.Redis, now: int) -> PaperTrader:
    s = load_settings(TraderSettings, environ={}, strategy_name=strategy, fee_pct=0.001)
    return PaperTrader(
        s,
        pool,
        StreamProducer(client),
        TraderMetrics(new_registry()),
        Tracing(None, strategy),
        now_ms=lambda: now,
    )


async def trades(client: aioredis.Redis, strategy: str) -> list[TradeMessage]:
    out = [ReportsStream.decode(f) for _, f in await client.xrange(stream_key(strategy, "reports"))]
    return [m for m in out if isinstance(m, TradeMessage)]


async def test_a_signal_opens_a_position_that_a_stop_loss_candle_closes_and_equity_reconciles(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    t = trader(strategy, pool, redis_client, now=T0 + MINUTE + 1_000)
    await t.on_signal(signal(strategy), "1-0")
    assert [m.status for m in await trades(redis_client, strategy)] == ["open"]
    await market.store_candles(pool, "1m", [("AUSDT", Candle(T0 + MINUTE, 100, 101, 91.0, 92, 1, 1, 1))])
    assert await t.follow_candles() == 1
    _opened, closed = await trades(redis_client, strategy)
    assert (
        closed.status == "closed" and closed.reason == "stoploss" and closed.exit_price == pytest.approx(92.0)
    )
    row = await pool.fetchrow("SELECT * FROM paper_trades WHERE strategy = $1", strategy)
    assert row["status"] == "closed" and row["pnl"] == pytest.approx(closed.pnl)
    assert t.book.balance == pytest.approx(10_000 + closed.pnl)
    assert closed.equity == pytest.approx(t.book.balance)


async def test_a_stale_signal_opens_nothing(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    t = trader(strategy, pool, redis_client, now=T0 + MINUTE + 61_000)
    await t.on_signal(signal(strategy), "1-0")
    assert await trades(redis_client, strategy) == []
    assert await pool.fetchval("SELECT count(*) FROM paper_trades WHERE strategy = $1", strategy) == 0


async def test_after_a_restart_open_positions_and_balance_are_restored_and_redeliveries_ignored(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    first = trader(strategy, pool, redis_client, now=T0 + MINUTE)
    await first.on_signal(signal(strategy), "1-0")
    balance = first.book.balance
    second = trader(strategy, pool, redis_client, now=T0 + MINUTE)
    await second.restore()
    assert second.book.balance == pytest.approx(balance) and set(second.book.positions) == {"AUSDT"}
    await second.on_signal(signal(strategy), "1-0")  # redelivered after the restart
    assert len(await trades(redis_client, strategy)) == 1
    candles = [("AUSDT", Candle(T0 + m * MINUTE, 100, 100.5, 99.5, 100.2, 1, 1, 1)) for m in range(1, 92)]
    await market.store_candles(pool, "1m", candles)
    assert await second.follow_candles() == 1
    assert (await trades(redis_client, strategy))[-1].reason == "time"


async def test_signals_of_other_strategies_on_a_shared_queue_are_left_alone(
    pool: asyncpg.Pool, redis_client: aioredis.Redis, strategy: str
) -> None:
    t = trader(strategy, pool, redis_client, now=T0 + MINUTE)
    await t.on_signal(signal("someone-else"), "1-0")
    assert t.book.positions == {} and await trades(redis_client, strategy) == []
