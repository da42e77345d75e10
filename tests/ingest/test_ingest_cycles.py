"""Ingest against the exchange simulator over real HTTP, real Redis and Postgres."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from soroka.binance.http import BinanceHttpClient
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, stream_key
from soroka.core.settings import IngestSettings
from soroka.ingest.binance_source import BinanceSource
from soroka.ingest.cycling import IngestCycle
from soroka.ingest.scheduling import ExchangeClock
from soroka.simulator.app import create_app
from soroka.simulator.clock import ManualClock
from soroka.simulator.faults import FaultInjector
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.serving import serve_app
from soroka.storage.migrating import migrate
from soroka.streams.producing import StreamProducer

MINUTE = 60_000
START = 1_760_000_000_000 - 1_760_000_000_000 % MINUTE + 30_000  # mid-minute


@dataclass
class Rig:
    url: str
    clock: ManualClock
    market: SyntheticMarket
    pool: asyncpg.Pool
    settings: IngestSettings
    redis: aioredis.Redis

    def cycle(self) -> IngestCycle:
        http = BinanceHttpClient(
            self.url, weight_budget=self.settings.weight_budget, now_ms=self.clock.now_ms, retries=1
        )
        source = BinanceSource(http, ExchangeClock())
        return IngestCycle(self.settings, source, self.pool, StreamProducer(self.redis))

    async def messages(self) -> list[CandlesMessage]:
        entries = await self.redis.xrange(stream_key(self.settings.strategy_name, "candles"))
        return [CandlesMessage.decode(f) for _, f in entries]


@pytest.fixture
async def rig(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str
) -> AsyncIterator[Rig]:
    await migrate(database_url)
    clock = ManualClock(START)
    market = SyntheticMarket(200, seed=3, start_ms=START)
    settings = load_settings(
        IngestSettings,
        environ={},
        strategy_name=strategy,
        redis_url=redis_url,
        database_url=database_url,
        universe_size=150,
        candle_window=30,
        binance_base_url="http://unused",
    )
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=8)
    async with serve_app(create_app(market, clock, FaultInjector())) as url:
        yield Rig(url, clock, market, pool, settings, redis_client)
    await pool.close()


async def stored(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    return [(r["symbol"], r["open_time"]) for r in await pool.fetch("SELECT symbol, open_time FROM candles")]


async def test_every_closed_candle_is_stored_and_published_exactly_once_over_five_minutes(rig: Rig) -> None:
    cycle = rig.cycle()
    results = []
    for _ in range(5):
        rig.clock.advance(MINUTE)
        results.append(await cycle.run(rig.clock.now_ms()))
    assert all(r.universe == 150 and r.symbols_failed == 0 for r in results)
    rows = await stored(rig.pool)
    assert len(rows) == len(set(rows))
    last_closed = (rig.clock.now_ms() // MINUTE) * MINUTE - MINUTE
    assert max(t for _, t in rows) == last_closed  # the still-open candle is never stored
    published = Counter((m.symbol, m.last_open_time) for m in await rig.messages())
    assert set(published.values()) == {1}
    assert len(published) == 150 * 5  # first cycle publishes only the newest minute per symbol
    minutes = {t for _, t in published}
    assert minutes == {last_closed - k * MINUTE for k in range(5)}
    sample = next(m for m in await rig.messages() if m.last_open_time == last_closed)
    assert len(sample.candles) == 30 and sample.ticker is not None and 1 <= sample.liquidity_rank <= 150
    snapshots = await rig.pool.fetchval("SELECT count(*) FROM ticker_snapshots")
    assert snapshots == 150 * 5


async def test_an_ingest_stopped_for_three_minutes_backfills_and_publishes_the_gap_after_restart(
    rig: Rig,
) -> None:
    first = rig.cycle()
    rig.clock.advance(MINUTE)
    await first.run(rig.clock.now_ms())
    rig.clock.advance(4 * MINUTE)  # three cycles missed
    restarted = rig.cycle()
    result = await restarted.run(rig.clock.now_ms())
    assert result.candles_stored == 150 * 4 and result.gaps_backfilled == 150 * 3
    published = Counter((m.symbol, m.last_open_time) for m in await rig.messages())
    assert set(published.values()) == {1} and len(published) == 150 * 5


async def test_a_minute_missing_at_the_exchange_is_skipped_and_later_minutes_still_flow(rig: Rig) -> None:
    cycle = rig.cycle()
    rig.clock.advance(MINUTE)
    await cycle.run(rig.clock.now_ms())
    symbol = cycle.state.universe.symbols[0] if cycle.state.universe else ""
    gap = (rig.clock.now_ms() // MINUTE) * MINUTE
    rig.market.add_gap(symbol, gap)
    for _ in range(3):
        rig.clock.advance(MINUTE)
        await cycle.run(rig.clock.now_ms())
    times = sorted(t for s, t in await stored(rig.pool) if s == symbol)
    assert gap not in times and times[-1] == gap + 2 * MINUTE


async def test_injected_errors_are_survived_and_the_missed_minute_is_backfilled(rig: Rig) -> None:
    cycle = rig.cycle()
    rig.clock.advance(MINUTE)
    await cycle.run(rig.clock.now_ms())
    async with httpx.AsyncClient(base_url=rig.url) as admin:
        await admin.post("/sim/faults", json={"error_rate": 1.0})
        rig.clock.advance(MINUTE)
        with pytest.raises(Exception):  # noqa: B017 - the whole cycle fails: ticker/24hr is down
            await cycle.run(rig.clock.now_ms())
        await admin.post("/sim/faults", json={"error_rate": 0.0, "malformed_rate": 0.0})
    rig.clock.advance(MINUTE)
    result = await cycle.run(rig.clock.now_ms())
    assert result.candles_stored == 150 * 2 and result.symbols_failed == 0
    published = Counter((m.symbol, m.last_open_time) for m in await rig.messages())
    assert set(published.values()) == {1} and len(published) == 150 * 3


async def test_history_older_than_the_retention_is_pruned(rig: Rig) -> None:
    rig.settings = rig.settings.model_copy(update={"retention_days": 1})
    cycle = rig.cycle()
    old = (rig.clock.now_ms() // MINUTE) * MINUTE - 3 * 86_400_000
    await rig.pool.execute(
        "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, quote_volume, trades) "
        "VALUES ('OLDUSDT', '1m', $1, 1, 1, 1, 1, 1, 1, 1)",
        old,
    )
    rig.clock.advance(MINUTE)
    await cycle.run(rig.clock.now_ms())
    assert await rig.pool.fetchval("SELECT count(*) FROM candles WHERE symbol = 'OLDUSDT'") == 0
    assert await rig.pool.fetchval("SELECT count(*) FROM candles") > 0
