"""`soroka events` shows what was detected and, for what was not sent, which filter said no and why."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
import redis.asyncio as aioredis
from test_analyze_workers import messages, planted_series, run_workers, settings_for

from soroka.cli import main
from soroka.core.messages import Figures24h, stream_key
from soroka.streams.producing import StreamProducer

ILLIQUID = Figures24h(quote_volume=2e6, trade_count=2_000_000, high=1.1, low=1.0, last_price=1.05)


async def test_events_lists_signals_and_the_reason_an_event_was_filtered_out(
    redis_client: aioredis.Redis,
    redis_url: str,
    database_url: str,
    pool: asyncpg.Pool,
    strategy: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = settings_for(strategy, redis_url, database_url)
    candles = planted_series(120, [50, 90])
    msgs = messages(strategy, candles, 60, 10)
    late = [
        m.model_copy(update={"ticker": ILLIQUID}) if m.last_open_time >= candles.open_time[80] else m
        for m in msgs
    ]
    await StreamProducer(redis_client).publish_many(stream_key(strategy, "candles"), late)
    await run_workers(s, redis_client, pool, ["a"])
    await redis_client.delete(s.trade_queue_name)
    capsys.readouterr()
    assert (
        await asyncio.to_thread(
            main, ["events", "--database-url", database_url, "--strategy", strategy, "--json"]
        )
        == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_time = {r["open_time"]: r for r in rows}
    passed, failed = by_time[int(candles.open_time[50])], by_time[int(candles.open_time[90])]
    assert passed["passed"] is True
    assert failed["passed"] is False
    (reason,) = [v["reason"] for v in failed["verdicts"] if not v["passed"]]
    assert "MIN_LIQUIDITY_USDT" in reason
    args = ["events", "--database-url", database_url, "--strategy", strategy, "--signals-only", "--json"]
    assert await asyncio.to_thread(main, args) == 0
    only = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["open_time"] for r in only} == {int(candles.open_time[50])}
