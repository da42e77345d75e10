"""Paper trades and the paper account's equity history."""

from __future__ import annotations

import json
from dataclasses import asdict

import asyncpg

from soroka.trader.paper import ClosedTrade, Position


async def record_open(
    conn: asyncpg.Connection, strategy: str, pos: Position, balance: float, equity: float, at: int
) -> bool:
    status: str = await conn.execute(
        """INSERT INTO paper_trades (trade_id, strategy, event_id, symbol, side, status, entry_time, entry_price,
                                     quantity, margin, leverage, fees, position)
           VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12::jsonb)
           ON CONFLICT (strategy, event_id) DO NOTHING""",
        pos.trade_id, strategy, pos.event_id, pos.symbol, pos.side, pos.entry_time, pos.entry_price,
        pos.quantity, pos.margin, pos.leverage, pos.entry_fee, json.dumps(asdict(pos)),
    )  # fmt: skip
    await record_equity(conn, strategy, at, balance, equity)
    return str(status).endswith(" 1")


async def record_close(conn: asyncpg.Connection, strategy: str, t: ClosedTrade, equity: float) -> None:
    await conn.execute(
        """UPDATE paper_trades SET status = 'closed', exit_time = $3, exit_price = $4, pnl = $5, fees = $6,
                  reason = $7, position = NULL
           WHERE strategy = $1 AND trade_id = $2""",
        strategy, t.trade_id, t.exit_time, t.exit_price, t.pnl, t.fees, t.reason,
    )  # fmt: skip
    await record_equity(conn, strategy, t.exit_time, t.balance_after, equity)


async def record_equity(
    conn: asyncpg.Connection, strategy: str, at: int, balance: float, equity: float
) -> None:
    await conn.execute(
        """INSERT INTO paper_equity (strategy, at, balance, equity) VALUES ($1, $2, $3, $4)
           ON CONFLICT (strategy, at) DO UPDATE SET balance = EXCLUDED.balance, equity = EXCLUDED.equity""",
        strategy, at, balance, equity,
    )  # fmt: skip


async def restore(pool: asyncpg.Pool, strategy: str) -> tuple[float | None, list[Position], set[str]]:
    """The last balance, the open positions and every event id already traded (after a restart)."""
    async with pool.acquire() as conn:
        balance = await conn.fetchval(
            "SELECT balance FROM paper_equity WHERE strategy = $1 ORDER BY at DESC LIMIT 1", strategy
        )
        rows = await conn.fetch(
            "SELECT event_id, status, position FROM paper_trades WHERE strategy = $1", strategy
        )
    positions = [
        Position(**json.loads(r["position"])) for r in rows if r["status"] == "open" and r["position"]
    ]
    return (None if balance is None else float(balance)), positions, {r["event_id"] for r in rows}
