"""`soroka backtest`: replay kline files with a strategy's configuration; summary and/or JSONL out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from soroka.backtest.records import BacktestRecord
from soroka.backtest.running import Progress as ProgressCallback
from soroka.backtest.running import run_backtest
from soroka.backtest.summary import print_summary
from soroka.core.configuring import load_settings
from soroka.core.settings import ConfigError, StrategySettings, env_key
from soroka.history.klinefiles import KlineFileError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="1m kline files SYMBOL-1m-....csv[.gz|.xz|.zip]")
    parser.add_argument(
        "--env-file", type=Path, default=None, help="strategy .env file (e.g. config/analyze.env)"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a key"
    )
    parser.add_argument("--jsonl", default=None, metavar="FILE|-", help="write one JSON object per event")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """KEY=VALUE pairs naming strategy keys; anything else is a configuration error."""
    known = {env_key(n) for n in StrategySettings.model_fields}
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        if key not in known:
            raise ConfigError(f"--set {key}: unknown strategy key (see `soroka config`)")
        out[key] = value.strip()
    return out


@contextmanager
def _progress_bar(enabled: bool, console: Console) -> Iterator[ProgressCallback | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("symbols", total=None)

        def advance(symbol: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=symbol)

        yield advance


def write_jsonl(records: Sequence[BacktestRecord], out: TextIO) -> None:
    for r in records:
        out.write(json.dumps(r.to_json(), separators=(",", ":"), allow_nan=False))
        out.write("\n")


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = parse_overrides(args.overrides)
    settings = load_settings(StrategySettings, args.env_file, None, **overrides)
    to_stdout = args.jsonl == "-"
    console = Console(stderr=to_stdout)
    if not console.is_terminal:
        console = Console(stderr=to_stdout, width=150)
    try:
        with _progress_bar(not args.no_progress, Console(stderr=True)) as progress:
            result = run_backtest(args.files, settings, progress)
    except KlineFileError as e:
        print(f"soroka backtest: {e}", file=sys.stderr)
        return 1
    if args.jsonl is not None:
        if to_stdout:
            write_jsonl(result.records, sys.stdout)
        else:
            with Path(args.jsonl).open("w") as f:
                write_jsonl(result.records, f)
    print_summary(result, console)
    return 0
