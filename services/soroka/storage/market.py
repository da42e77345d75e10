"""Market history in Postgres: symbols, closed candles and per-minute 24h ticker snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg

from soroka.core.candles import Candle, SymbolInfo, Ticker24h


async def upsert_symbols(pool: asyncpg.Pool, symbols: Iterable[SymbolInfo]) -> None:
    rows = [(s.symbol, s.base_asset, s.quote_asset, s.status, s.spot_allowed) for s in symbols]
    if not rows:
        return
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO symbols (symbol, base_asset, quote_asset, status, spot_allowed)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (symbol) DO UPDATE SET base_asset = EXCLUDED.base_asset,
                   quote_asset = EXCLUDED.quote_asset, status = EXCLUDED.status,
                   spot_allowed = EXCLUDED.spot_allowed, updated_at = now()
               WHERE (symbols.status, symbols.spot_allowed) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.spot_allowed)""",
            rows,
        )


async def store_candles(pool: asyncpg.Pool, interval: str, candles: Iterable[tuple[str, Candle]]) -> int:
    """Insert closed candles (COPY into a temp table, then one INSERT .. ON CONFLICT DO NOTHING).

    Returns how many rows were new; a candle already stored is left as it is (idempotent).
    """
    records = [(sym, interval, *c.row()) for sym, c in candles]
    if not records:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS candles_in (LIKE candles INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table(
            "candles_in",
            records=records,
            columns=[
                "symbol",
                "interval",
                "open_time",
                "open",
                "high",
                "low",
                "close",
                "volume",
                "quote_volume",
                "trades",
            ],
        )
        status = await conn.execute(
            """INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume, quote_volume, trades)
               SELECT symbol, interval, open_time, open, high, low, close, volume, quote_volume, trades
               FROM candles_in ON CONFLICT DO NOTHING"""
        )
    return int(status.split()[-1])


async def store_ticker_snapshots(
    pool: asyncpg.Pool, minute: int, tickers: Sequence[Ticker24h], ranks: dict[str, int]
) -> int:
    """One row per symbol per minute; a second snapshot of the same minute is ignored."""
    records = [
        (
            t.symbol,
            minute,
            t.last_price,
            t.open_price,
            t.high,
            t.low,
            t.volume,
            t.quote_volume,
            t.trade_count,
            ranks.get(t.symbol, 0),
        )
        for t in tickers
    ]
    if not records:
        return 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS tickers_in (LIKE ticker_snapshots) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table("tickers_in", records=records)
        status = await conn.execute(
            "INSERT INTO ticker_snapshots SELECT * FROM tickers_in ON CONFLICT DO NOTHING"
        )
    return int(status.split()[-1])


async def last_open_times(pool: asyncpg.Pool, interval: str, symbols: Sequence[str]) -> dict[str, int]:
    """The newest stored open time per symbol (symbols with no candles are absent)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT s.symbol, (SELECT max(open_time) FROM candles c
                                 WHERE c.symbol = s.symbol AND c.interval = $2) AS last
               FROM unnest($1::text[]) AS s(symbol)""",
            list(symbols),
            interval,
        )
    return {r["symbol"]: int(r["last"]) for r in rows if r["last"] is not None}


async def recent_candles(
    pool: asyncpg.Pool, interval: str, symbols: Sequence[str], count: int
) -> dict[str, list[Candle]]:
    """The last `count` stored candles of each symbol, oldest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT s.symbol, c.open_time, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades
               FROM unnest($1::text[]) AS s(symbol)
               CROSS JOIN LATERAL (
                   SELECT * FROM candles c WHERE c.symbol = s.symbol AND c.interval = $2
                   ORDER BY open_time DESC LIMIT $3) c
               ORDER BY s.symbol, c.open_time""",
            list(symbols),
            interval,
            count,
        )
    out: dict[str, list[Candle]] = {}
    for r in rows:
        out.setdefault(r["symbol"], []).append(
            Candle(
                r["open_time"],
                r["open"],
                r["high"],
                r["low"],
                r["close"],
                r["volume"],
                r["quote_volume"],
                r["trades"],
            )
        )
    return out


async def candles_between(
    pool: asyncpg.Pool, symbol: str, interval: str, start: int, end: int
) -> list[Candle]:
    """Stored candles of one symbol with start <= open_time <= end, oldest first."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT open_time, open, high, low, close, volume, quote_volume, trades FROM candles
               WHERE symbol = $1 AND interval = $2 AND open_time BETWEEN $3 AND $4 ORDER BY open_time""",
            symbol,
            interval,
            start,
            end,
        )
    return [Candle(*r) for r in rows]


async def prune_history(pool: asyncpg.Pool, before_ms: int) -> int:
    """Retention: delete candles and snapshots older than `before_ms`."""
    async with pool.acquire() as conn:
        a = await conn.execute("DELETE FROM candles WHERE open_time < $1", before_ms)
        b = await conn.execute("DELETE FROM ticker_snapshots WHERE minute < $1", before_ms)
    return int(a.split()[-1]) + int(b.split()[-1])


async def publish_cursors(pool: asyncpg.Pool, strategy: str, interval: str) -> dict[str, int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT symbol, last_open_time FROM publish_cursors WHERE strategy = $1 AND interval = $2",
            strategy,
            interval,
        )
    return {r["symbol"]: int(r["last_open_time"]) for r in rows}


async def advance_publish_cursors(
    pool: asyncpg.Pool, strategy: str, interval: str, cursors: dict[str, int]
) -> None:
    if not cursors:
        return
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO publish_cursors (strategy, symbol, interval, last_open_time) VALUES ($1, $2, $3, $4)
               ON CONFLICT (strategy, symbol, interval) DO UPDATE
               SET last_open_time = GREATEST(publish_cursors.last_open_time, EXCLUDED.last_open_time)""",
            [(strategy, s, interval, t) for s, t in cursors.items()],
        )


async def data_clock(pool: asyncpg.Pool, interval: str) -> int | None:
    """The newest candle open time published by any ingest: the market's clock as the data sees it."""
    async with pool.acquire() as conn:
        value = await conn.fetchval(
            "SELECT max(last_open_time) FROM publish_cursors WHERE interval = $1", interval
        )
    return None if value is None else int(value)
