"""Helpers for running real service processes' `serve()` in-process and scraping their /metrics."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import numpy as np
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from soroka.core.candles import CandleArrays
from soroka.core.messages import CandlesMessage, Figures24h, Message
from soroka.observability.logs import JsonLinesHandler
from soroka.streams.producing import StreamProducer

MINUTE = 60_000
LIQUID = Figures24h(quote_volume=5e8, trade_count=2_000_000, high=1.1, low=1.0, last_price=1.05)
Labels = frozenset[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def minute_now() -> int:
    now = time.time_ns() // 1_000_000
    return now - now % MINUTE


@dataclass
class Scrape:
    """One /metrics response: sample name -> the label sets and values seen."""

    text: str
    samples: dict[str, list[tuple[dict[str, str], float]]]

    def value(self, name: str, **labels: str) -> float | None:
        for sample_labels, value in self.samples.get(name, []):
            if all(sample_labels.get(k) == v for k, v in labels.items()):
                return value
        return None

    def total(self, name: str) -> float:
        return sum(v for _, v in self.samples.get(name, []))


def parse(text: str) -> Scrape:
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), s.value))
    return Scrape(text, samples)


@asynccontextmanager
async def running(
    serve: Callable[[asyncio.Event], Awaitable[int]], port: int
) -> AsyncIterator[Callable[[], Awaitable[Scrape]]]:
    """Run a service's `serve(stop)` until the block ends; yields a scraper of its /metrics."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(stop))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        try:
            for _ in range(200):
                if task.done():
                    await task
                    raise AssertionError("the service stopped during startup")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)

            async def scrape() -> Scrape:
                resp = await http.get("/metrics")
                assert resp.status_code == 200
                return parse(resp.text)

            yield scrape
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            root = logging.getLogger()
            for handler in [h for h in root.handlers if isinstance(h, JsonLinesHandler)]:
                root.removeHandler(handler)


async def wait_for(
    scrape: Callable[[], Awaitable[Scrape]], done: Callable[[Scrape], bool], limit_s: float = 15
) -> Scrape:
    deadline = time.monotonic() + limit_s
    while True:
        got = await scrape()
        if done(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"metrics never reached the expected state:\n{got.text}")
        await asyncio.sleep(0.1)


async def seed_stream(client: aioredis.Redis, stream: str, group: str, messages: list[Message]) -> None:
    """A consumer group whose dead consumer holds one undecodable entry (reclaimed, then dead-lettered),
    followed by good messages."""
    await client.xgroup_create(stream, group, id="0", mkstream=True)
    await client.xadd(stream, {"junk": "not a message"})
    await client.xreadgroup(group, "dead-pod", {stream: ">"}, count=1)
    await StreamProducer(client).publish_many(stream, messages)


def planted_series(t0: int, n: int, breakout: int, seed: int = 7) -> CandleArrays:
    """A quiet random walk with a clear swing high and then a decisive BOS_UP candle at `breakout`."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.0005, n)
    r[breakout] = 0.015
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * 1.0003
    low = np.minimum(open_, close) * 0.9997
    vol = rng.uniform(90, 110, n)
    high[breakout - 6] = high[breakout - 11 : breakout].max() * 1.002
    vol[breakout] = 500
    ot = t0 + np.arange(n, dtype=np.int64) * MINUTE
    return CandleArrays(ot, open_, high, low, close, vol, vol * close, np.full(n, 1000, dtype=np.int64))


def candles_message(
    strategy: str, symbol: str, candles: CandleArrays, last: int, window: int
) -> CandlesMessage:
    rows = [candles.candle(i).row() for i in range(max(0, last + 1 - window), last + 1)]
    return CandlesMessage(
        strategy=strategy,
        symbol=symbol,
        interval="1m",
        candles=rows,
        ticker=LIQUID,
        liquidity_rank=1,
        universe_size=1,
        published_at=int(time.time() * 1000),
    )
