"""`soroka events`: the latest detected events with every filter's verdict (why something was or was not sent)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from soroka.core.configuring import read_env_file
from soroka.core.settings import ConnectionSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file", type=Path, default=None, help="take DATABASE_URL and STRATEGY_NAME from here"
    )
    parser.add_argument("--database-url", default=None, help="overrides DATABASE_URL")
    parser.add_argument("--strategy", default=None, help="overrides STRATEGY_NAME")
    parser.add_argument("--symbol", default=None, help="only this symbol")
    parser.add_argument("--signals-only", action="store_true", help="only events that became signals")
    parser.add_argument("--last", type=int, default=20, help="how many of the newest events (default 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def _setting(args: argparse.Namespace, key: str, cli: str | None) -> str:
    if cli:
        return cli
    if key in os.environ:
        return os.environ[key]
    if args.env_file is not None:
        env = read_env_file(args.env_file)
        if key in env:
            return env[key]
    return str(ConnectionSettings.model_fields[key.lower()].default)


async def fetch(
    dsn: str, strategy: str, symbol: str | None, signals_only: bool, last: int
) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT event_id, symbol, type, open_time, close, level, strength, volume_ratio, body_ratio,
                      confidence, passed, verdicts FROM events
               WHERE strategy = $1 AND ($2::text IS NULL OR symbol = $2) AND (NOT $3 OR passed)
               ORDER BY open_time DESC, event_id LIMIT $4""",
            strategy, symbol, signals_only, last,
        )  # fmt: skip
    finally:
        await conn.close()
    return [{**dict(r), "verdicts": json.loads(r["verdicts"])} for r in rows]


def run(args: argparse.Namespace) -> int:
    dsn = _setting(args, "DATABASE_URL", args.database_url)
    strategy = _setting(args, "STRATEGY_NAME", args.strategy)
    rows = asyncio.run(fetch(dsn, strategy, args.symbol, args.signals_only, args.last))
    if args.json:
        for r in rows:
            print(json.dumps(r, default=str))
        return 0
    table = Table(title=f"latest events of strategy {strategy}", show_lines=False)
    for col in (
        "candle (UTC)",
        "symbol",
        "type",
        "close",
        "level",
        "strength",
        "vol×",
        "body",
        "conf",
        "result",
    ):
        table.add_column(col)
    for r in rows:
        failed = [v["reason"] for v in r["verdicts"] if not v["passed"]]
        table.add_row(
            datetime.fromtimestamp(r["open_time"] / 1000, UTC).strftime("%Y-%m-%d %H:%M"),
            r["symbol"], r["type"], f"{r['close']:g}", f"{r['level']:g}", f"{r['strength']:.4f}",
            f"{r['volume_ratio']:.2f}", f"{r['body_ratio']:.2f}", f"{r['confidence']:.2f}",
            "[green]signal[/]" if r["passed"] else "[red]" + "; ".join(failed) + "[/]",
        )  # fmt: skip
    Console().print(table)
    return 0
