"""The simulator's HTTP face: Binance's /api/v3 market-data endpoints plus the /sim admin API.

Every /api/v3 request passes the same gate: per-IP weight limit (429/418 with Retry-After), then
injected faults, then the handler; every answer carries ``X-MBX-USED-WEIGHT-1M``. Parameter errors use
Binance's codes and messages (``{"code": -1121, "msg": "Invalid symbol."}``, HTTP 400).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from soroka.simulator import payloads
from soroka.simulator.admin import router as admin_router
from soroka.simulator.clock import Clock
from soroka.simulator.faults import FaultInjector
from soroka.simulator.interface import MINUTE_MS, Market
from soroka.simulator.klines import SIMULATED_MINUTES, VALID_INTERVALS, select
from soroka.simulator.limits import WeightLimiter
from soroka.simulator.state import Simulator

WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _error(status: int, code: int, msg: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse({"code": code, "msg": msg}, status_code=status, headers=headers)


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def _respond(request: Request, endpoint: str, weight: int, build: Callable[[], Any]) -> Response:
    sim = _sim(request)
    ip = request.client.host if request.client else "unknown"
    now = sim.clock.now_ms()
    verdict = sim.limiter.admit(ip, weight, now)
    headers = {WEIGHT_HEADER: str(verdict.used)}
    if verdict.status != 200:
        sim.record(endpoint, 0, verdict.status)
        headers["Retry-After"] = str(verdict.retry_after)
        if verdict.status == 418:
            until = now + verdict.retry_after * 1000
            return _error(418, -1003, f"Way too many requests; IP banned until {until}.", headers)
        return _error(429, -1003, "Too many requests; current limit of IP is exceeded.", headers)
    f = sim.faults.faults
    if f.latency_ms:
        await asyncio.sleep(f.latency_ms / 1000)
    fault = sim.faults.draw()
    status, response = 200, cast(Response | None, None)
    if fault == "timeout":
        await asyncio.sleep(f.timeout_s)
    elif fault == "5xx":
        status = 503
        response = _error(503, -1008, "Server is currently overloaded with other requests.", headers)
    elif fault == "429":
        status = 429
        headers["Retry-After"] = str(f.retry_after_s)
        response = _error(429, -1003, "Too many requests; current limit of IP is exceeded.", headers)
    if response is None:
        body: str
        try:
            body = json.dumps(build(), separators=(",", ":"))
        except ApiError as e:
            status, response = e.status, _error(e.status, e.code, e.msg, headers)
        else:
            if fault == "malformed":
                body = body[: max(1, len(body) // 2)]
            response = Response(body, media_type="application/json", headers=headers)
    sim.record(endpoint, weight, status)
    assert response is not None
    return response


def _required(request: Request, name: str) -> str:
    v = request.query_params.get(name)
    if not v:
        raise ApiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return v


def _int_param(request: Request, name: str) -> int | None:
    v = request.query_params.get(name)
    if v is None:
        return None
    if not v.isdigit() or len(v) > 20:
        raise ApiError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        )
    return int(v)


def _symbols_param(request: Request, market: Market) -> list[int] | None:
    """``symbol`` or ``symbols`` (a JSON array) as listing indices; None when neither was sent."""
    one, many = request.query_params.get("symbol"), request.query_params.get("symbols")
    if one is not None and many is not None:
        raise ApiError(-1128, "Combination of optional parameters invalid.")
    names: Any
    if one is not None:
        names = [one]
    elif many is not None:
        try:
            names = json.loads(many)
        except ValueError:
            names = None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ApiError(-1102, "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed.")
        if len(set(names)) != len(names):
            raise ApiError(-1151, "Symbol is present multiple times in the list.")
    else:
        return None
    idx = [market.index(n) for n in names]
    if any(i is None for i in idx):
        raise ApiError(-1121, "Invalid symbol.")
    return [i for i in idx if i is not None]


def _ticker_weight(request: Request) -> int:
    if "symbol" in request.query_params:
        return 2
    try:
        n = len(json.loads(request.query_params.get("symbols", "")))
    except (ValueError, TypeError):
        return 80 if "symbols" not in request.query_params else 2
    return 2 if n <= 20 else 40 if n <= 100 else 80


def create_app(
    market: Market, clock: Clock, faults: FaultInjector | None = None, *, weight_limit: int = 6000
) -> FastAPI:
    app = FastAPI(title="Soroka exchange simulator", docs_url=None, redoc_url=None)
    app.state.sim = Simulator(market, clock, faults or FaultInjector(), WeightLimiter(weight_limit))
    app.include_router(admin_router)

    @app.get("/api/v3/ping")
    async def ping(request: Request) -> Response:
        return await _respond(request, "ping", 1, dict)

    @app.get("/api/v3/time")
    async def server_time(request: Request) -> Response:
        return await _respond(request, "time", 1, lambda: {"serverTime": clock.now_ms()})

    @app.get("/api/v3/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        def build() -> Any:
            chosen = _symbols_param(request, market)
            status = request.query_params.get("symbolStatus")
            if status is not None and chosen is not None:
                raise ApiError(-1128, "Combination of optional parameters invalid.")
            if status is not None and status not in ("TRADING", "HALT", "BREAK"):
                raise ApiError(-1122, "Invalid symbolStatus.")
            infos = market.listings()
            picked = [infos[i] for i in chosen] if chosen is not None else list(infos)
            if status is not None:
                picked = [s for s in picked if s.status == status]
            return payloads.exchange_info(picked, clock.now_ms(), weight_limit)

        return await _respond(request, "exchangeInfo", 20, build)

    @app.get("/api/v3/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        def build() -> Any:
            kind = request.query_params.get("type", "FULL")
            if kind not in ("FULL", "MINI"):
                raise ApiError(-1139, "Invalid ticker type.")
            chosen = _symbols_param(request, market)
            table = market.ticker(clock.now_ms())
            idx = chosen if chosen is not None else range(len(market.listings()))
            rows = payloads.ticker_rows(table, market.listings(), idx, kind == "FULL")
            return rows[0] if "symbol" in request.query_params else rows

        return await _respond(request, "ticker/24hr", _ticker_weight(request), build)

    def klines_build(request: Request) -> Callable[[], Any]:
        def build() -> Any:
            symbol = _required(request, "symbol")
            interval = _required(request, "interval")
            if market.index(symbol) is None:
                raise ApiError(-1121, "Invalid symbol.")
            if interval not in VALID_INTERVALS:
                raise ApiError(-1120, "Invalid interval.")
            if interval not in SIMULATED_MINUTES:
                raise ApiError(-1120, f"Interval {interval} is not simulated.")
            start, end = _int_param(request, "startTime"), _int_param(request, "endTime")
            limit = _int_param(request, "limit")
            limit = 500 if limit is None else limit
            if not 1 <= limit <= 1000:
                raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
            minutes = SIMULATED_MINUTES[interval]
            rows = select(market, symbol, minutes, start, end, limit, clock.now_ms())
            return payloads.kline_rows(rows, minutes * MINUTE_MS)

        return build

    @app.get("/api/v3/klines")
    async def klines(request: Request) -> Response:
        return await _respond(request, "klines", 2, klines_build(request))

    @app.get("/api/v3/uiKlines")
    async def ui_klines(request: Request) -> Response:
        return await _respond(request, "uiKlines", 2, klines_build(request))

    return app
