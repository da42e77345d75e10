"""Parity: real candles through the live path (messages -> analyze consumers -> stored events) equal the backtest."""

from __future__ import annotations

import csv
from pathlib import Path

import asyncpg
import numpy as np
import redis.asyncio as aioredis
from test_analyze_workers import run_workers

from shared_paths import KLINES_DIR
from soroka.backtest.rolling import figures_at
from soroka.backtest.running import run_backtest
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, stream_key
from soroka.core.settings import AnalyzeSettings, StrategySettings
from soroka.history.klinefiles import read_kline_file
from soroka.streams.producing import StreamProducer

DAYS = 2
WINDOW = 240


async def test_live_analyzers_store_exactly_the_backtests_events(
    tmp_path: Path,
    redis_client: aioredis.Redis,
    redis_url: str,
    database_url: str,
    pool: asyncpg.Pool,
    strategy: str,
) -> None:
    symbol, full = read_kline_file(KLINES_DIR / "NEARUSDT-1m-2025-09.csv.xz")
    candles = full.slice(0, DAYS * 1440)
    # The same candles as a backtest input file (ms timestamps, no header).
    path = tmp_path / f"{symbol}-1m-slice.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        for i in range(len(candles)):
            c = candles.candle(i)
            w.writerow(
                [
                    c.open_time,
                    repr(c.open),
                    repr(c.high),
                    repr(c.low),
                    repr(c.close),
                    repr(c.volume),
                    c.open_time + 59_999,
                    repr(c.quote_volume),
                    c.trades,
                    0,
                    0,
                    0,
                ]
            )
    # Looser detection than the product's, so two days give many events of both types.
    env = {
        "BOS_STRENGTH_THRESHOLD": "1.003",
        "MIN_VOLUME_MULTIPLIER": "1.1",
        "REQUIRE_BODY_RATIO": "0.5",
        "CONFIDENCE_MIN": "0.3",
        "MIN_LIQUIDITY_USDT": "5000000",
        "MIN_TRADE_COUNT": "0",
    }
    backtest = run_backtest([path], load_settings(StrategySettings, environ=env))
    # Live: one candles message per minute with its causal window and rolling-24h figures, as ingest sends.
    figures = figures_at(candles, np.arange(len(candles), dtype=np.int64))
    rows = [candles.candle(i).row() for i in range(len(candles))]
    messages = [
        CandlesMessage(
            strategy=strategy,
            symbol=symbol,
            interval="1m",
            candles=rows[max(0, t + 1 - WINDOW) : t + 1],
            ticker=figures[t],
            liquidity_rank=1,
            universe_size=1,
            published_at=0,
        )
        for t in range(len(rows))
    ]
    await StreamProducer(redis_client).publish_many(stream_key(strategy, "candles"), messages)
    settings = load_settings(
        AnalyzeSettings,
        environ=env,
        strategy_name=strategy,
        redis_url=redis_url,
        database_url=database_url,
        candle_window=WINDOW,
        trade_queue_name=f"{strategy}_queue",
    )
    await run_workers(settings, redis_client, pool, ["a", "b"])
    await redis_client.delete(settings.trade_queue_name)
    live = await pool.fetch(
        "SELECT type, open_time, close, level, strength, confidence, passed FROM events WHERE strategy = $1 "
        "ORDER BY open_time, type",
        strategy,
    )
    expected = sorted(
        (
            r.scored.event.type.value,
            r.scored.event.open_time,
            r.scored.event.close,
            r.scored.event.level,
            r.scored.event.strength,
            r.scored.confidence.value,
            all(v.passed for v in r.verdicts),
        )
        for r in backtest.records
    )
    assert len(expected) > 20
    assert {e[0] for e in expected} == {"BOS_UP", "BOS_DOWN"} and {e[-1] for e in expected} == {True, False}
    assert sorted(tuple(r) for r in live) == expected
