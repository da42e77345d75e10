"""The simulator over real HTTP with the real Binance client: shapes, open candle, weights, bans, faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bos_reference import bos_events

from shared_paths import RESOURCES
from soroka.binance import endpoints
from soroka.binance.errors import BinanceClientError, BinancePayloadError, BinanceUnavailableError
from soroka.binance.http import BinanceHttpClient
from soroka.core.candles import CandleArrays
from soroka.simulator.app import create_app
from soroka.simulator.clock import ManualClock
from soroka.simulator.faults import FaultInjector, Faults
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.serving import serve_app

START = 1756684800000 + 30_000
MIN = 60_000


def recorded(name: str) -> Any:
    return json.loads((RESOURCES / "binance" / name).read_text())


class Sim:
    def __init__(self, url: str, clock: ManualClock, market: SyntheticMarket) -> None:
        self.url, self.clock, self.market = url, clock, market

    def client(self, **kw: Any) -> BinanceHttpClient:
        kw.setdefault("rng", random.Random(0))
        return BinanceHttpClient(self.url, now_ms=self.clock.now_ms, sleep=self.clock.sleep, **kw)


@contextlib.asynccontextmanager
async def start_sim(
    n: int = 200, faults: Faults | None = None, weight_limit: int = 6000
) -> AsyncIterator[Sim]:
    clock = ManualClock(START)
    market = SyntheticMarket(n, seed=11, start_ms=START)
    app = create_app(market, clock, FaultInjector(faults, seed=3), weight_limit=weight_limit)
    async with serve_app(app) as url:
        yield Sim(url, clock, market)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with start_sim() as s:
        yield s


def _types(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _types(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_types(v) for v in x]
    return type(x).__name__


async def test_payload_shapes_and_types_match_recorded_binance_payloads(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        info = (await h.get("/api/v3/exchangeInfo")).json()
        ticker = (await h.get("/api/v3/ticker/24hr")).json()
        mini = (await h.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT", "type": "MINI"})).json()
        kl = (
            await h.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": 3})
        ).json()
    rec_info = recorded("exchange_info.json")
    assert set(info) == set(rec_info)
    assert _types(info["rateLimits"]) == _types(rec_info["rateLimits"])
    rec_sym = {k: v for k, v in rec_info["symbols"][1].items() if k != "filters"}

    def shape(d: dict[str, Any]) -> dict[str, Any]:  # list lengths differ between symbols, element types not
        return {
            k: sorted({json.dumps(_types(e)) for e in v}) if isinstance(v, list) else _types(v)
            for k, v in d.items()
        }

    assert shape({k: info["symbols"][0][k] for k in rec_sym}) == shape(rec_sym)
    assert _types(ticker[0]) == _types(recorded("ticker_24hr.json")[0])
    assert list(ticker[0]) == list(recorded("ticker_24hr.json")[0])
    assert _types(mini) == _types(recorded("ticker_24hr_mini_one.json"))
    assert len(ticker) == 200 and len(info["symbols"]) == 200
    assert _types(kl) == _types(recorded("klines.json"))


async def test_the_open_candle_comes_last_and_the_client_drops_it(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        raw = (
            await h.get("/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "1m", "limit": 5})
        ).json()
    assert raw[-1][0] == START // MIN * MIN and raw[-1][6] > sim.clock.now_ms()  # still open
    assert [r[0] for r in raw] == [START // MIN * MIN - (4 - i) * MIN for i in range(5)]
    async with sim.client() as c:
        candles = await endpoints.klines(c, "ETHUSDT", limit=5)
        assert [k.open_time for k in candles] == [r[0] for r in raw[:-1]]
        sim.clock.advance(MIN)  # the open candle closes; its final values differ from the partial ones
        final = await endpoints.klines(c, "ETHUSDT", limit=5)
    assert final[-1].open_time == raw[-1][0] and final[-1].volume >= float(raw[-1][5])


async def test_every_response_carries_the_used_weight(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        used = []
        for path, params in [
            ("/api/v3/ping", {}),
            ("/api/v3/time", {}),
            ("/api/v3/exchangeInfo", {}),
            ("/api/v3/ticker/24hr", {"symbols": json.dumps(["BTCUSDT", "ETHUSDT"])}),
            ("/api/v3/ticker/24hr", {}),
            ("/api/v3/klines", {"symbol": "NOPE", "interval": "1m"}),
            ("/api/v3/uiKlines", {"symbol": "BTCUSDT", "interval": "5m"}),
        ]:
            used.append(int((await h.get(path, params=params)).headers["X-MBX-USED-WEIGHT-1M"]))
        assert used == [1, 2, 22, 24, 104, 106, 108]
        sim.clock.advance(MIN)
        assert (await h.get("/api/v3/ping")).headers["X-MBX-USED-WEIGHT-1M"] == "1"
        stats = (await h.get("/sim/stats")).json()
    assert stats["ticker/24hr"] == {"requests": 2, "weight": 82, "statuses": {"200": 2}}


async def test_over_the_limit_429_then_ban_418_for_insisting() -> None:
    async with start_sim(n=20, weight_limit=10) as sim, httpx.AsyncClient(base_url=sim.url) as h:
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 2}
        assert [(await h.get("/api/v3/klines", params=params)).status_code for _ in range(5)] == [200] * 5
        r = await h.get("/api/v3/klines", params=params)
        assert r.status_code == 429 and r.json()["code"] == -1003
        assert r.headers["Retry-After"] == "30"  # to the next minute of the simulator clock
        codes = [(await h.get("/api/v3/klines", params=params)).status_code for _ in range(4)]
        assert codes == [429, 429, 418, 418]  # the fourth refusal bans
        sim.clock.advance(MIN)  # a new window does not lift a ban
        r = await h.get("/api/v3/ping")
        assert r.status_code == 418 and 0 < int(r.headers["Retry-After"]) <= 120
        sim.clock.advance(2 * MIN)
        assert (await h.get("/api/v3/ping")).status_code == 200


async def test_a_client_within_budget_is_never_refused_fetching_150_symbols_repeatedly() -> None:
    async with start_sim(n=170, weight_limit=600) as sim:
        symbols = [s.symbol for s in sim.market.listings()[:150]]
        async with sim.client(weight_budget=500, max_concurrency=16) as c:
            for _ in range(4):
                batches = await asyncio.gather(*(endpoints.klines(c, s, limit=3) for s in symbols))
                assert all(len(b) == 2 for b in batches)
        async with httpx.AsyncClient(base_url=sim.url) as h:
            stats = (await h.get("/sim/stats")).json()
        assert stats["klines"]["statuses"] == {"200": 600}
        assert c.stats.throttle_waits >= 2 and c.stats.errors["http_429"] == c.stats.errors["http_418"] == 0


async def test_the_client_honours_retry_after_of_injected_429s() -> None:
    async with start_sim(n=20, faults=Faults(rate_429=0.5, retry_after_s=3)) as sim:
        async with sim.client(retries=10) as c:
            for _ in range(6):
                assert len(await endpoints.klines(c, "BTCUSDT", limit=3)) == 2
        assert c.stats.errors["http_429"] >= 1
        assert sim.clock.sleeps.count(3.0) == c.stats.errors["http_429"]


async def test_5xx_are_retried_and_malformed_bodies_are_counted_not_fatal(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h, sim.client(retries=8) as c:
        await h.post("/sim/faults", json={"error_rate": 0.5})
        for _ in range(5):
            assert (await endpoints.exchange_info(c)).symbols
        assert c.stats.errors["http_5xx"] >= 1 and c.stats.retries == c.stats.errors["http_5xx"]
        await h.post("/sim/faults", json={"error_rate": 0, "malformed_rate": 1})
        with pytest.raises(BinancePayloadError, match="not JSON"):
            await endpoints.ticker_24hr(c)
        assert c.stats.errors["malformed"] == 1
        assert (await h.post("/sim/faults", json={"malformed_rate": 2})).status_code == 422
        await h.post("/sim/faults", json={"malformed_rate": 0})
        assert len(await endpoints.ticker_24hr(c)) == 200


async def test_timeouts_are_retried_then_reported_as_temporary() -> None:
    async with start_sim(n=5, faults=Faults(timeout_rate=1, timeout_s=0.4)) as sim:
        async with sim.client(timeout=0.1, retries=1) as c:
            with pytest.raises(BinanceUnavailableError, match="timeout"):
                await endpoints.ping(c)
        assert c.stats.errors["timeout"] == 2


async def test_parameter_errors_use_binance_codes(sim: Sim) -> None:
    cases = [
        ("/api/v3/klines", {"symbol": "NOPEUSDT", "interval": "1m"}, -1121),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "2m"}, -1120),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1w"}, -1120),
        ("/api/v3/klines", {"interval": "1m"}, -1102),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1001}, -1130),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "x"}, -1100),
        ("/api/v3/ticker/24hr", {"symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'}, -1128),
        ("/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","BTCUSDT"]'}, -1151),
        ("/api/v3/ticker/24hr", {"symbols": "BTCUSDT"}, -1102),
        ("/api/v3/ticker/24hr", {"type": "HUGE"}, -1139),
        ("/api/v3/exchangeInfo", {"symbolStatus": "OPEN"}, -1122),
        ("/api/v3/exchangeInfo", {"symbolStatus": "TRADING", "symbol": "BTCUSDT"}, -1128),
    ]
    async with httpx.AsyncClient(base_url=sim.url) as h:
        for path, params, code in cases:
            r = await h.get(path, params=params)
            assert (r.status_code, r.json()["code"]) == (400, code), (path, params)
            assert isinstance(r.json()["msg"], str)
        only = (await h.get("/api/v3/exchangeInfo", params={"symbolStatus": "BREAK"})).json()["symbols"]
        assert only and all(s["status"] == "BREAK" for s in only)
    async with sim.client() as c:
        with pytest.raises(BinanceClientError) as e:
            await endpoints.klines(c, "NOPEUSDT")
        assert e.value.code == -1121


async def test_klines_ranges_intervals_gaps_and_the_clock(sim: Sim) -> None:
    now_min = START // MIN * MIN
    async with httpx.AsyncClient(base_url=sim.url) as h:
        get = lambda **p: h.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", **p})  # noqa: E731
        rows = (await get(startTime=now_min - 100 * MIN, limit=10)).json()
        assert [r[0] for r in rows] == [now_min - (100 - i) * MIN for i in range(10)]
        rows = (await get(endTime=now_min - 50 * MIN, limit=3)).json()
        assert [r[0] for r in rows] == [now_min - (52 - i) * MIN for i in range(3)]
        assert len((await get()).json()) == 500
        five = (
            await h.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "5m", "limit": 2})
        ).json()
        assert five[0][0] % (5 * MIN) == 0 and five[0][6] == five[0][0] + 5 * MIN - 1
        await h.post("/sim/gaps", json={"symbols": ["BTCUSDT"], "open_time": now_min - 2 * MIN})
        assert now_min - 2 * MIN not in [r[0] for r in (await get(limit=5)).json()]
        assert (await h.post("/sim/gaps", json={"symbols": ["NOPE"], "open_time": 0})).status_code == 400
        moved = (await h.post("/sim/clock/advance", json={"minutes": 3})).json()
        assert moved["now"] == START + 3 * MIN == (await h.get("/sim/clock")).json()["now"]
        assert (await h.get("/api/v3/time")).json() == {"serverTime": START + 3 * MIN}


async def test_planted_breakouts_show_in_klines_at_the_recorded_minutes(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as h:
        truth = (await h.get("/sim/breakouts", params={"since": START - 12 * 60 * MIN})).json()
    assert len(truth) >= 30
    async with sim.client() as c:
        for b in truth[::5]:
            candles = await endpoints.klines(c, b["symbol"], end_time=b["open_time"], limit=40)
            assert candles[-1].open_time == b["open_time"] and candles[-1].close == b["close"]
            assert (b["type"], b["open_time"], b["level"]) in bos_events(CandleArrays.from_candles(candles))


async def test_two_thousand_symbols_exchange_info_and_ticker_are_quick() -> None:
    async with start_sim(n=2000) as sim:
        async with sim.client() as c:
            t0 = time.perf_counter()
            info = await endpoints.exchange_info(c)
            t1 = time.perf_counter()
            cold = await endpoints.ticker_24hr(c)
            t2 = time.perf_counter()
            sim.clock.advance(MIN)
            warm = await endpoints.ticker_24hr(c)
            t3 = time.perf_counter()
            lat = []
            for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT") * 10:
                t = time.perf_counter()
                await endpoints.klines(c, s, limit=3)
                lat.append(time.perf_counter() - t)
        print(
            f"2000 symbols over HTTP: exchangeInfo {t1 - t0:.2f}s, ticker cold {t2 - t1:.2f}s warm {t3 - t2:.2f}s, "
            f"klines(limit=3) median {sorted(lat)[len(lat) // 2] * 1000:.1f} ms"
        )
        assert len(info.symbols) == len(cold) == len(warm) == 2000
        assert t1 - t0 < 3 and t2 - t1 < 10 and t3 - t2 < 3
