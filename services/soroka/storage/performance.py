"""Post-signal performance rows: one per signal, filled horizon by horizon until final."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

from soroka.core.messages import SignalMessage


@dataclass(frozen=True, slots=True)
class PendingEvaluation:
    event_id: str
    strategy: str
    symbol: str
    type: str
    open_time: int
    entry: float
    confidence: float
    known: int  # horizons decided so far (for per-horizon reports)


async def track_signal(pool: asyncpg.Pool, signal: SignalMessage) -> bool:
    """Start evaluating a signal; False if it is already tracked (a redelivered signal)."""
    async with pool.acquire() as conn:
        status: str = await conn.execute(
            """INSERT INTO performance (event_id, strategy, symbol, type, open_time, entry, confidence)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING""",
            signal.event_id, signal.strategy, signal.symbol, signal.type.value, signal.open_time,
            signal.close, signal.confidence,
        )  # fmt: skip
    return str(status).endswith(" 1")


async def pending(pool: asyncpg.Pool, strategy: str, limit: int = 1000) -> list[PendingEvaluation]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT event_id, strategy, symbol, type, open_time, entry, confidence,
                      (SELECT count(*) FROM jsonb_object_keys(pnl)) AS known
               FROM performance WHERE strategy = $1 AND NOT final ORDER BY open_time LIMIT $2""",
            strategy,
            limit,
        )
    return [PendingEvaluation(**dict(r)) for r in rows]


async def save(
    pool: asyncpg.Pool,
    event_id: str,
    *,
    pnl: dict[str, float | None],
    pnl_net: dict[str, float | None],
    mfe: float | None,
    mae: float | None,
    final: bool,
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE performance SET pnl = $2::jsonb, pnl_net = $3::jsonb, mfe = $4, mae = $5, final = $6,
                      reported_at = CASE WHEN $6 THEN now() ELSE reported_at END, updated_at = now()
               WHERE event_id = $1""",
            event_id, json.dumps(pnl), json.dumps(pnl_net), mfe, mae, final,
        )  # fmt: skip


async def pending_count(pool: asyncpg.Pool, strategy: str) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM performance WHERE strategy = $1 AND NOT final", strategy
            )
        )


async def final_outcomes(
    pool: asyncpg.Pool, strategy: str
) -> list[tuple[float, int, dict[str, float | None]]]:
    """(confidence, open time, PnL % by horizon) of every fully evaluated signal."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT confidence, open_time, pnl FROM performance WHERE strategy = $1 AND final ORDER BY open_time",
            strategy,
        )
    return [(float(r["confidence"]), int(r["open_time"]), json.loads(r["pnl"])) for r in rows]
