"""The simulator's /sim admin API: clock, faults, gaps, planted-breakout ground truth, request stats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from soroka.simulator.faults import Faults
from soroka.simulator.state import Simulator

router = APIRouter(prefix="/sim")


class Advance(BaseModel):
    ms: int = Field(0, ge=0, description="Milliseconds to move the clock forward.")
    minutes: int = Field(0, ge=0, description="Minutes to move the clock forward (added to ms).")


class Gap(BaseModel):
    symbols: list[str] = Field(min_length=1)
    open_time: int = Field(ge=0, description="Open time (ms) of the minute to leave out of klines.")


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    clock = _sim(request).clock
    return {"now": clock.now_ms(), "speed": clock.speed}


@router.post("/clock/advance")
async def advance_clock(request: Request, body: Advance) -> dict[str, Any]:
    clock = _sim(request).clock
    clock.advance(body.ms + body.minutes * 60_000)
    return {"now": clock.now_ms(), "speed": clock.speed}


@router.get("/faults")
async def get_faults(request: Request) -> Faults:
    return _sim(request).faults.faults


@router.post("/faults")
async def set_faults(request: Request, body: dict[str, Any]) -> Faults:
    injector = _sim(request).faults
    try:
        injector.faults = Faults.model_validate(injector.faults.model_dump() | body)
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    return injector.faults


@router.post("/gaps")
async def add_gaps(request: Request, body: Gap) -> dict[str, Any]:
    market = _sim(request).market
    unknown = [s for s in body.symbols if market.index(s) is None]
    if unknown:
        raise HTTPException(400, f"unknown symbols: {unknown}")
    for s in body.symbols:
        market.add_gap(s, body.open_time)
    return {"symbols": body.symbols, "open_time": body.open_time - body.open_time % 60_000}


@router.get("/breakouts")
async def breakouts(request: Request, symbol: str | None = None, since: int = 0) -> list[dict[str, Any]]:
    sim = _sim(request)
    found = sim.market.breakouts(sim.clock.now_ms())
    return [b.to_json() for b in found if b.open_time >= since and (symbol is None or b.symbol == symbol)]


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    return {
        name: {"requests": s.requests, "weight": s.weight, "statuses": dict(s.statuses)}
        for name, s in sorted(_sim(request).stats.items())
    }
