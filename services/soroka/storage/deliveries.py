"""Telegram deliveries as a Postgres outbox: stream messages are queued here, sent from here, never twice."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from soroka.core.messages import ReportMessage, SignalMessage


@dataclass(frozen=True, slots=True)
class QueuedReport:
    ref: str
    report: ReportMessage
    parent_message_id: int | None  # None: the signal was never posted (stale, failed or not yet sent)
    parent_status: str | None
    parent_payload: SignalMessage | None


async def enqueue(
    pool: asyncpg.Pool,
    *,
    strategy: str,
    ref: str,
    kind: str,
    chat_id: str,
    payload: str,
    status: str = "queued",
    parent: str | None = None,
    open_time: int | None = None,
    reason: str | None = None,
) -> bool:
    """Queue one delivery; False when this (ref, kind, chat) is already known (a redelivered message)."""
    async with pool.acquire() as conn:
        status_line: str = await conn.execute(
            """INSERT INTO deliveries (strategy, ref, kind, chat_id, status, payload, parent, open_time, reason)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
               ON CONFLICT (strategy, ref, kind, chat_id, part) DO NOTHING""",
            strategy, ref, kind, chat_id, status, payload, parent, open_time, reason,
        )  # fmt: skip
    return status_line.endswith(" 1")


async def queued_signals(
    pool: asyncpg.Pool, strategy: str, chat_id: str, limit: int = 500
) -> list[SignalMessage]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT payload FROM deliveries WHERE strategy = $1 AND chat_id = $2 AND kind = 'signal'
               AND status = 'queued' ORDER BY open_time, id LIMIT $3""",
            strategy, chat_id, limit,
        )  # fmt: skip
    return [SignalMessage.model_validate_json(r["payload"]) for r in rows]


async def queued_reports(
    pool: asyncpg.Pool, strategy: str, chat_id: str, limit: int = 200
) -> list[QueuedReport]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT r.ref, r.payload, p.message_id AS parent_id, p.status AS parent_status, p.payload AS parent_payload
               FROM deliveries r
               LEFT JOIN deliveries p ON p.strategy = r.strategy AND p.chat_id = r.chat_id AND p.kind = 'signal'
                                     AND p.ref = r.parent AND p.part = 0
               WHERE r.strategy = $1 AND r.chat_id = $2 AND r.kind = 'report' AND r.status = 'queued'
               ORDER BY r.id LIMIT $3""",
            strategy, chat_id, limit,
        )  # fmt: skip
    return [
        QueuedReport(
            r["ref"],
            ReportMessage.model_validate_json(r["payload"]),
            r["parent_id"],
            r["parent_status"],
            SignalMessage.model_validate_json(r["parent_payload"]) if r["parent_payload"] else None,
        )
        for r in rows
    ]


async def mark(
    pool: asyncpg.Pool,
    strategy: str,
    chat_id: str,
    kind: str,
    refs: list[str],
    *,
    status: str,
    message_id: int | None = None,
    reason: str | None = None,
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE deliveries SET status = $5, message_id = coalesce($6, message_id), reason = $7,
                      sent_at = CASE WHEN $5 = 'sent' THEN now() ELSE sent_at END
               WHERE strategy = $1 AND chat_id = $2 AND kind = $3 AND ref = ANY($4::text[]) AND part = 0""",
            strategy, chat_id, kind, refs, status, message_id, reason,
        )  # fmt: skip


async def queue_depth(pool: asyncpg.Pool, strategy: str) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE strategy = $1 AND status = 'queued'", strategy
            )
        )


async def count_by_status(
    pool: asyncpg.Pool, strategy: str, kind: str, status: str, since_ms: int = 0
) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                """SELECT count(*) FROM deliveries WHERE strategy = $1 AND kind = $2 AND status = $3
                   AND coalesce(open_time, 0) >= $4""",
                strategy,
                kind,
                status,
                since_ms,
            )
        )


async def settle_in_flight(pool: asyncpg.Pool, strategy: str) -> int:
    """After a crash, rows left 'sending' may or may not have reached Telegram: never resend them."""
    async with pool.acquire() as conn:
        status: str = await conn.execute(
            """UPDATE deliveries SET status = 'unknown', reason = 'publisher stopped while sending'
               WHERE strategy = $1 AND status = 'sending'""",
            strategy,
        )
    return int(status.split()[-1])


async def stale_since(pool: asyncpg.Pool, strategy: str, since_ms: int) -> list[tuple[str, float]]:
    """(symbol, age in seconds when it arrived) of the signals not posted for being too old."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT payload->>'symbol' AS symbol,
                      extract(epoch FROM created_at) - (payload->>'close_time')::bigint / 1000.0 AS age
               FROM deliveries
               WHERE strategy = $1 AND kind = 'signal' AND status = 'stale' AND open_time >= $2 ORDER BY open_time""",
            strategy,
            since_ms,
        )
    return [(r["symbol"], float(r["age"])) for r in rows]
