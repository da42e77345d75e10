"""The HTTP face of every service: /healthz (loop alive), /readyz (real checks), /metrics and /config."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class LivenessResult:
    alive: bool
    detail: str = ""


@dataclass(frozen=True)
class Check:
    """A named readiness check; a check that raises or overruns `timeout` seconds counts as failed."""

    name: str
    fn: Callable[[], Awaitable[CheckResult]]
    timeout: float = 2.0


class Heartbeat:
    """The main loop beats on every iteration; liveness fails when the beats stop."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        return max(0.0, self._clock() - self._last)

    def alive(self, max_age: float) -> bool:
        return self.age() <= max_age

    def liveness(self, max_age: float) -> Callable[[], LivenessResult]:
        """A liveness callable for `create_health_app`."""

        def check() -> LivenessResult:
            age = self.age()
            return LivenessResult(age <= max_age, f"last heartbeat {age:.1f}s ago (limit {max_age:g}s)")

        return check


async def run_check(check: Check) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(check.fn(), check.timeout)
    except TimeoutError:
        result = CheckResult(False, f"timed out after {check.timeout:g}s")
    except Exception as e:  # a failing dependency is the answer, not an error of the endpoint
        result = CheckResult(False, f"{type(e).__name__}: {e}")
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return {"name": check.name, "ok": result.ok, "detail": result.detail, "duration_ms": elapsed_ms}


def create_health_app(
    *,
    service: str,
    registry: CollectorRegistry,
    readiness: Sequence[Check],
    liveness: Callable[[], LivenessResult | bool],
    config: Callable[[], Mapping[str, Any]],
) -> FastAPI:
    app = FastAPI(title=f"soroka-{service}", docs_url=None, redoc_url=None, openapi_url=None)
    checks = tuple(readiness)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        result = liveness()
        if isinstance(result, bool):
            result = LivenessResult(result)
        body = {"service": service, "alive": result.alive, "detail": result.detail}
        return JSONResponse(body, status_code=200 if result.alive else 503)

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await asyncio.gather(*(run_check(c) for c in checks))
        ready = all(r["ok"] for r in results)
        body = {"service": service, "ready": ready, "checks": list(results)}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        # The client library negotiates the format (text 0.0.4 by default, OpenMetrics when asked).
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), headers={"Content-Type": content_type})

    @app.get("/config")
    async def show_config() -> Response:
        body = json.dumps(dict(config()), default=str, sort_keys=True)
        return Response(body, media_type="application/json")

    return app


class _Pinger(Protocol):
    def ping(self, **kwargs: Any) -> Any: ...


class _Fetcher(Protocol):
    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any: ...


def redis_check(client: _Pinger, name: str = "redis", timeout: float = 2.0) -> Check:
    async def ping() -> CheckResult:
        reply = client.ping()
        if inspect.isawaitable(reply):
            reply = await reply
        return CheckResult(bool(reply), "PONG" if reply else f"unexpected reply {reply!r}")

    return Check(name, ping, timeout)


def postgres_check(pool: _Fetcher, name: str = "postgres", timeout: float = 2.0) -> Check:
    async def select_one() -> CheckResult:
        value = await pool.fetchval("SELECT 1")
        return CheckResult(value == 1, "SELECT 1" if value == 1 else f"SELECT 1 returned {value!r}")

    return Check(name, select_one, timeout)


def freshness_check(
    name: str,
    last_success: Callable[[], float | None],
    max_age_s: float,
    *,
    clock: Callable[[], float] = time.time,
) -> Check:
    """Ready while the last success (epoch seconds, from `clock`'s timeline) is at most `max_age_s` old."""

    async def fresh() -> CheckResult:
        last = last_success()
        if last is None:
            return CheckResult(False, "no success yet")
        age = clock() - last
        return CheckResult(age <= max_age_s, f"last success {age:.1f}s ago (limit {max_age_s:g}s)")

    return Check(name, fresh)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the service owns SIGTERM/SIGINT, so uvicorn must not capture them."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases
        return None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP;
    # with proto 0 every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def serve_http(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, lifespan: Literal["on", "off"] = "off"
) -> AsyncIterator[int]:
    """Serve `app` on host:port as a task of the running loop; yields the bound port (0 picks one)."""
    sock = _bind(host, port)
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan=lifespan, timeout_graceful_shutdown=5
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http:{bound}")
    try:
        while not server.started:
            if task.done():
                sock.close()
                await task  # raises the startup error
                raise RuntimeError(f"HTTP server on {host}:{bound} stopped during startup")
            await asyncio.sleep(0.005)
        yield bound
    finally:
        server.should_exit = True
        try:
            await task
        except asyncio.CancelledError:
            task.cancel()
            raise
