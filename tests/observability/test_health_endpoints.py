"""/healthz follows the heartbeat, /readyz runs real checks, /metrics and /config expose what is in force."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from soroka.observability.health import (
    Check,
    CheckResult,
    Heartbeat,
    LivenessResult,
    create_health_app,
    freshness_check,
    postgres_check,
    redis_check,
    serve_http,
)
from soroka.observability.metrics import ServiceMetrics, new_registry


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


async def ok() -> CheckResult:
    return CheckResult(True, "fine")


async def broken() -> CheckResult:
    raise ConnectionError("connection refused")


async def hangs() -> CheckResult:
    await asyncio.sleep(10)
    return CheckResult(True)


def make_app(
    checks: Sequence[Check] = (),
    liveness: Any = lambda: True,
    config: dict[str, Any] | None = None,
) -> tuple[FastAPI, ServiceMetrics]:
    registry = new_registry()
    metrics = ServiceMetrics(registry, "analyze", version="1.2.3")
    app = create_health_app(
        service="analyze",
        registry=registry,
        readiness=checks,
        liveness=liveness,
        config=lambda: config or {},
    )
    return app, metrics


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_readyz_is_200_only_when_every_check_passes() -> None:
    app, _ = make_app([Check("redis", ok), Check("postgres", ok)])
    async with client(app) as c:
        response = await c.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert [(r["name"], r["ok"], r["detail"]) for r in body["checks"]] == [
        ("redis", True, "fine"),
        ("postgres", True, "fine"),
    ]


async def test_readyz_is_503_and_names_the_failing_and_slow_checks() -> None:
    app, _ = make_app([Check("redis", ok), Check("postgres", broken), Check("lag", hangs, timeout=0.05)])
    async with client(app) as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    results = {r["name"]: r for r in response.json()["checks"]}
    assert results["redis"]["ok"] is True
    assert results["postgres"]["ok"] is False
    assert results["postgres"]["detail"] == "ConnectionError: connection refused"
    assert results["lag"]["ok"] is False
    assert "timed out" in results["lag"]["detail"]


async def test_healthz_follows_the_heartbeat() -> None:
    clock = FakeClock()
    heartbeat = Heartbeat(clock)
    app, _ = make_app(liveness=heartbeat.liveness(max_age=30))
    async with client(app) as c:
        clock.now += 29
        assert (await c.get("/healthz")).status_code == 200
        clock.now += 2
        stale = await c.get("/healthz")
        heartbeat.beat()
        fresh = await c.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["alive"] is False
    assert "31.0s" in stale.json()["detail"]
    assert fresh.status_code == 200


async def test_healthz_accepts_a_plain_boolean_or_a_result() -> None:
    app, _ = make_app(liveness=lambda: False)
    async with client(app) as c:
        assert (await c.get("/healthz")).status_code == 503
    app, _ = make_app(liveness=lambda: LivenessResult(True, "loop ticking"))
    async with client(app) as c:
        response = await c.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"service": "analyze", "alive": True, "detail": "loop ticking"}


async def test_metrics_endpoint_serves_the_registry_in_prometheus_text() -> None:
    app, metrics = make_app()
    metrics.processed("candles", 7)
    async with client(app) as c:
        response = await c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    [sample] = [s for s in families["soroka_stream_messages_processed"].samples if s.name.endswith("_total")]
    assert sample.labels == {"service": "analyze", "stream": "candles"}
    assert sample.value == 7
    assert families["soroka_build_info"].samples[0].labels == {"version": "1.2.3"}
    assert "process_resident_memory_bytes" in families
    async with client(app) as c:
        negotiated = await c.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert negotiated.headers["content-type"].startswith("application/openmetrics-text")
    assert negotiated.text.rstrip().endswith("# EOF")


async def test_config_endpoint_shows_the_mapping_the_service_provides() -> None:
    app, _ = make_app(config={"LOOKBACK": 3, "TELEGRAM_BOT_TOKEN": "**********"})
    async with client(app) as c:
        response = await c.get("/config")
    assert response.status_code == 200
    assert response.json() == {"LOOKBACK": 3, "TELEGRAM_BOT_TOKEN": "**********"}


async def test_redis_check_pings_a_real_server_and_fails_on_a_dead_one(redis_url: str) -> None:
    live = aioredis.from_url(redis_url)
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        assert await redis_check(live).fn() == CheckResult(True, "PONG")
        app, _ = make_app([redis_check(dead)])
        async with client(app) as c:
            response = await c.get("/readyz")
        assert response.status_code == 503
    finally:
        await live.aclose()
        await dead.aclose()


async def test_postgres_check_runs_select_one(postgres_server_url: str) -> None:
    pool = await asyncpg.create_pool(postgres_server_url, min_size=1, max_size=1)
    try:
        assert await postgres_check(pool).fn() == CheckResult(True, "SELECT 1")
    finally:
        await pool.close()


async def test_freshness_check_fails_before_the_first_success_and_when_stale() -> None:
    clock = FakeClock()
    last: list[float | None] = [None]
    check = freshness_check("candles", lambda: last[0], max_age_s=90, clock=clock)
    assert (await check.fn()).ok is False
    last[0] = clock.now - 10
    assert (await check.fn()).ok is True
    clock.now += 100
    stale = await check.fn()
    assert stale.ok is False
    assert "110.0s" in stale.detail


async def test_serve_http_answers_on_an_ephemeral_port_and_leaves_signals_alone() -> None:
    app, _ = make_app([Check("redis", ok)])
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    async with serve_http(app, "127.0.0.1", 0) as port:
        assert port > 0
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            assert (await c.get("/readyz")).status_code == 200
            assert (await c.get("/healthz")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            await c.get("/healthz")


async def test_serve_http_reports_a_port_already_in_use() -> None:
    app, _ = make_app()
    async with serve_http(app, "127.0.0.1", 0) as port:
        with pytest.raises(OSError):
            async with serve_http(app, "127.0.0.1", port):
                pass
