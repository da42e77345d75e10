"""Events and signals in Postgres: idempotent by deterministic event id."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from soroka.core.messages import SignalMessage


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


async def store_event(
    conn: asyncpg.Connection,
    *,
    event_id: str,
    strategy: str,
    symbol: str,
    type: str,
    interval: str,
    open_time: int,
    close: float,
    level: float,
    strength: float,
    volume_ratio: float,
    body_ratio: float,
    confidence: float,
    metrics: dict[str, float | None],
    verdicts: Sequence[dict[str, Any]],
    passed: bool,
) -> bool:
    """Insert an event once; returns False when it was already stored (a redelivered message)."""
    finite_ratio = volume_ratio if volume_ratio != float("inf") else 1e308
    status: str = await conn.execute(
        """INSERT INTO events (event_id, strategy, symbol, type, interval, open_time, close, level, strength,
                               volume_ratio, body_ratio, confidence, metrics, verdicts, passed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15)
           ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        strategy,
        symbol,
        type,
        interval,
        open_time,
        close,
        level,
        strength,
        finite_ratio,
        body_ratio,
        confidence,
        _json(metrics),
        _json(list(verdicts)),
        passed,
    )
    return str(status).endswith(" 1")


async def store_signal(conn: asyncpg.Connection, signal: SignalMessage) -> bool:
    status: str = await conn.execute(
        """INSERT INTO signals (event_id, strategy, symbol, type, open_time, close_time, published_at, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (event_id) DO NOTHING""",
        signal.event_id,
        signal.strategy,
        signal.symbol,
        signal.type.value,
        signal.open_time,
        signal.close_time,
        signal.published_at,
        signal.model_dump_json(),
    )
    return str(status).endswith(" 1")


async def stored_signal(conn: asyncpg.Connection, event_id: str) -> SignalMessage | None:
    row = await conn.fetchrow("SELECT payload FROM signals WHERE event_id = $1", event_id)
    return None if row is None else SignalMessage.model_validate_json(row["payload"])


async def events_of(pool: asyncpg.Pool, strategy: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT * FROM events WHERE strategy = $1 ORDER BY symbol, open_time, type", strategy
            )
        )
