"""The Binance HTTP client against scripted responses: weight budget, Retry-After, retries, errors, counters."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import httpx
import pytest

from shared_paths import RESOURCES
from soroka.binance import endpoints
from soroka.binance.errors import BinanceClientError, BinancePayloadError, BinanceUnavailableError
from soroka.binance.http import BinanceHttpClient
from soroka.simulator.clock import ManualClock

T0 = 1756684800000  # a minute boundary
KLINES = (RESOURCES / "binance" / "klines.json").read_text()


def client(
    clock: ManualClock, handler: Callable[[httpx.Request], httpx.Response], **kw: object
) -> BinanceHttpClient:
    return BinanceHttpClient(
        "http://binance.test",
        transport=httpx.MockTransport(handler),
        now_ms=clock.now_ms,
        sleep=clock.sleep,
        rng=random.Random(1),
        **kw,  # type: ignore[arg-type]
    )


def ok(body: str = "{}", weight: int | None = None) -> httpx.Response:
    headers = {"X-MBX-USED-WEIGHT-1M": str(weight)} if weight is not None else {}
    return httpx.Response(200, text=body, headers=headers)


async def test_budget_is_never_exceeded_the_client_waits_for_the_next_minute() -> None:
    clock = ManualClock(T0 + 10_000)
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now_ms())
        return ok(weight=2 * sum(1 for t in sent if t // 60_000 == clock.now_ms() // 60_000))

    async with client(clock, handler, weight_budget=10) as c:
        for _ in range(12):
            await c.request("/api/v3/klines", weight=2, parse=lambda p: p)
    per_minute = {m: sum(2 for t in sent if t // 60_000 == m) for m in {t // 60_000 for t in sent}}
    assert max(per_minute.values()) <= 10
    assert c.stats.throttle_waits == 2
    assert clock.sleeps[0] == pytest.approx(50.0)  # from T0+10s to the next minute
    assert c.stats.weight_spent == 24 and c.stats.requests == 12


async def test_weight_reported_by_the_server_counts_against_the_budget() -> None:
    clock = ManualClock(T0)
    async with client(clock, lambda r: ok(weight=95), weight_budget=100) as c:
        await c.request("/api/v3/ping", weight=1, parse=lambda p: p)  # others on this IP used 95
        await c.request("/api/v3/ping", weight=6, parse=lambda p: p)  # 95 + 6 > 100
        assert c.stats.throttle_waits == 1
        assert c.stats.weight_used == 95


async def test_429_retry_after_is_honoured_before_the_next_request() -> None:
    clock = ManualClock(T0)
    answers = [
        httpx.Response(429, json={"code": -1003, "msg": "Too many requests"}, headers={"Retry-After": "7"}),
        ok(KLINES),
    ]

    async with client(clock, lambda r: answers.pop(0)) as c:
        candles = await endpoints.klines(c, "BTCUSDT", now_ms=T0 + 30_000)
    assert clock.sleeps == [7.0]
    assert (
        c.stats.errors["http_429"] == 1
        and c.stats.retry_after_waits == 1
        and c.stats.retry_after_seconds == 7
    )
    assert len(candles) == 2  # the open third kline (closeTime >= now) is dropped


async def test_418_with_a_long_ban_is_not_slept_through() -> None:
    clock = ManualClock(T0)
    ban = httpx.Response(418, json={"code": -1003, "msg": "banned"}, headers={"Retry-After": "7200"})
    async with client(clock, lambda r: ban, max_retry_after=300) as c:
        with pytest.raises(BinanceUnavailableError, match=r"418.*7200"):
            await endpoints.ping(c)
    assert c.stats.errors["http_418"] == 1 and clock.sleeps == []


async def test_5xx_and_timeouts_are_retried_with_growing_jittered_backoff() -> None:
    clock = ManualClock(T0)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if calls < 4:
            return httpx.Response(503, json={"code": -1008, "msg": "busy"})
        return ok('{"serverTime": 123}')

    async with client(clock, handler, retries=4, backoff_base=1.0) as c:
        assert await endpoints.server_time(c) == 123
    assert c.stats.errors["timeout"] == 1 and c.stats.errors["http_5xx"] == 2 and c.stats.retries == 3
    assert [0.5 <= clock.sleeps[0] <= 1, 1 <= clock.sleeps[1] <= 2, 2 <= clock.sleeps[2] <= 4] == [True] * 3


async def test_retries_run_out_into_a_temporary_error() -> None:
    clock = ManualClock(T0)
    async with client(clock, lambda r: httpx.Response(502, text="bad gateway"), retries=2) as c:
        with pytest.raises(BinanceUnavailableError, match="after 3 attempts, last: HTTP 502") as e:
            await endpoints.ping(c)
    assert e.value.temporary and c.stats.errors["http_5xx"] == 3


async def test_other_4xx_raise_client_errors_with_binance_code_and_are_not_retried() -> None:
    clock = ManualClock(T0)
    body = (RESOURCES / "binance" / "error_invalid_symbol.json").read_text()
    async with client(clock, lambda r: httpx.Response(400, text=body)) as c:
        with pytest.raises(BinanceClientError) as e:
            await endpoints.klines(c, "NOPE")
    assert (e.value.status, e.value.code, e.value.msg) == (400, -1121, "Invalid symbol.")
    assert c.stats.errors["client_error"] == 1 and c.stats.requests == 1


@pytest.mark.parametrize("body", ['[[1756684680000, "1.0"', '{"symbols": 5, "serverTime": 1}'])
async def test_malformed_bodies_are_counted_and_raise_payload_errors(body: str) -> None:
    clock = ManualClock(T0)
    async with client(clock, lambda r: ok(body)) as c:
        with pytest.raises(BinancePayloadError, match="Binance /api/v3/"):
            if body.startswith("["):
                await endpoints.klines(c, "BTCUSDT")
            else:
                await endpoints.exchange_info(c)
    assert c.stats.errors["malformed"] == 1


async def test_ticker_sends_symbols_as_json_and_picks_the_weight() -> None:
    clock = ManualClock(T0)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok((RESOURCES / "binance" / "ticker_24hr.json").read_text())

    async with client(clock, handler) as c:
        await endpoints.ticker_24hr(c, ["BTCUSDT", "ETHBTC"])
        await endpoints.ticker_24hr(c)
    assert json.loads(seen[0].url.params["symbols"]) == ["BTCUSDT", "ETHBTC"]
    assert "symbols" not in seen[1].url.params
    assert c.stats.weight_spent == 2 + 80
    assert [endpoints.ticker_weight(n) for n in (1, 20, 21, 100, 101, None)] == [2, 2, 40, 40, 80, 80]


async def test_a_malformed_ticker_row_is_skipped_and_counted_the_other_symbols_are_kept() -> None:
    rows = json.loads((RESOURCES / "binance" / "ticker_24hr.json").read_text())
    broken = {**rows[0], "quoteVolume": "not-a-number"}
    clock = ManualClock(T0)
    async with client(clock, lambda r: ok(json.dumps([broken, *rows[1:]]))) as c:
        tickers = await endpoints.ticker_24hr(c)
    assert [t.symbol for t in tickers] == [r["symbol"] for r in rows[1:]]
    assert c.stats.errors["malformed"] == 1
