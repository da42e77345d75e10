"""Benchmark: one ingest cycle against the simulator (separate process, 30 ms injected latency).

For 150 and 1,500 symbols: steady-state cycle duration (median, p99) and request weight per cycle.
Needs Redis and Postgres (REDIS_URL / DATABASE_URL or the local defaults). Prints a Markdown table.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import httpx
import redis.asyncio as aioredis

from soroka.binance.http import BinanceHttpClient
from soroka.core.configuring import load_settings
from soroka.core.settings import IngestSettings
from soroka.ingest.binance_source import BinanceSource
from soroka.ingest.cycling import IngestCycle
from soroka.ingest.scheduling import ExchangeClock
from soroka.storage.migrating import migrate
from soroka.streams.producing import StreamProducer

REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PG = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CYCLES = int(os.environ.get("BENCH_CYCLES", "12"))
OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-ingest.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SteppedClock(ExchangeClock):
    """The exchange time of the last sample: the bench moves the simulator's clock in whole-minute steps."""

    def now_ms(self) -> int:
        return self._samples[-1][1] if self._samples else super().now_ms()


async def bench(symbols: int, url: str, db: str) -> dict[str, float]:
    strategy = f"bench{uuid.uuid4().hex[:6]}"
    settings = load_settings(
        IngestSettings, environ={}, strategy_name=strategy, redis_url=REDIS, database_url=db,
        universe_size=symbols, binance_base_url=url, max_concurrency=64,
    )  # fmt: skip
    client = aioredis.from_url(REDIS)
    pool = await asyncpg.create_pool(db, min_size=2, max_size=8)
    async with httpx.AsyncClient(base_url=url) as admin:
        clock = SteppedClock()
        http = BinanceHttpClient(url, weight_budget=6000, max_concurrency=64, now_ms=clock.now_ms)
        source = BinanceSource(http, clock)
        cycle = IngestCycle(settings, source, pool, StreamProducer(client))
        await cycle.run()  # seeds the windows (candle_window candles per symbol)
        durations, weights = [], []
        for _ in range(CYCLES):
            await admin.post("/sim/clock/advance", json={"minutes": 1})
            before = http.stats.weight_spent
            t = time.perf_counter()
            result = await cycle.run()
            durations.append(time.perf_counter() - t)
            if os.environ.get("BENCH_DEBUG"):
                print(symbols, round(durations[-1], 2), http.stats, file=sys.stderr)
            weights.append(http.stats.weight_spent - before)
            assert result.symbols_failed == 0 and result.messages_published == symbols, result
        await http.aclose()
    keys = [k async for k in client.scan_iter(match=f"soroka:{strategy}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await pool.close()
    durations.sort()
    return {
        "symbols": symbols,
        "median_s": statistics.median(durations),
        "p99_s": durations[min(len(durations) - 1, int(len(durations) * 0.99))],
        "weight": statistics.median(weights),
        "server_time_calls_per_min": 2,
    }


def start_simulator() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "soroka", "simulate", "--symbols", "1700", "--port", str(port),
         "--latency-ms", "30", "--speed", "0.0001"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/api/v3/ping", timeout=1)
            return sim, url
        except httpx.HTTPError:
            time.sleep(0.1)
    sim.kill()
    raise RuntimeError("the simulator did not start")


async def run_all(url: str) -> list[dict[str, float]]:
    name = f"soroka_bench_{uuid.uuid4().hex[:6]}"
    admin_url = urlparse(PG)._replace(path="/postgres").geturl()
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    db = urlparse(PG)._replace(path=f"/{name}").geturl()
    try:
        await migrate(db)
        return [await bench(n, url, db) for n in (150, 1500)]
    finally:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> None:
    sim, url = start_simulator()
    try:
        rows = asyncio.run(run_all(url))
    finally:
        sim.terminate()
        sim.wait(10)
    lines = [
        f"# Ingest benchmark\n\nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Simulator in a separate process with 30 ms "
        "injected latency per request; ingest with MAX_CONCURRENCY=64; steady-state cycles (one new minute each), "
        f"{CYCLES} cycles per size.\nCommand: `python bench/bench_ingest.py`. Targets: <= 1 s for 150 symbols, "
        "<= 3 s for 1,500; weight <= 2 x symbols + 100 per minute.\n",
        "| symbols | cycle median (s) | cycle p99 (s) | weight per cycle | target weight (2xN+100) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        n = int(r["symbols"])
        lines.append(f"| {n} | {r['median_s']:.3f} | {r['p99_s']:.3f} | {r['weight']:.0f} | {2 * n + 100} |")
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.write_text(text)


if __name__ == "__main__":
    main()
