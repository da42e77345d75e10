"""Backtest summary: hit rate and mean PnL per horizon, by event type and confidence bucket (rich tables)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from soroka.backtest.records import BacktestRecord
from soroka.backtest.running import BacktestResult
from soroka.core.messages import HORIZONS_MIN

BUCKET_WIDTH = 0.1


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Outcomes of a group of records: per horizon, how many had the candle, hit rate and mean PnL%."""

    label: str
    count: int
    available: dict[int, int]
    hit_rate: dict[int, float | None]
    mean_pnl: dict[int, float | None]
    mean_net_15m: float | None


def aggregate(label: str, records: Sequence[BacktestRecord]) -> Aggregate:
    available: dict[int, int] = {}
    hit: dict[int, float | None] = {}
    mean: dict[int, float | None] = {}
    for h in HORIZONS_MIN:
        vals = [v for r in records if (v := r.performance.pnl.get(h)) is not None]
        available[h] = len(vals)
        hit[h] = sum(1 for v in vals if v > 0) / len(vals) if vals else None
        mean[h] = math.fsum(vals) / len(vals) if vals else None
    net = [v for r in records if (v := r.performance.pnl_net.get(15)) is not None]
    return Aggregate(label, len(records), available, hit, mean, math.fsum(net) / len(net) if net else None)


def bucket_of(confidence: float) -> str:
    lo = min(int(confidence / BUCKET_WIDTH), int(1 / BUCKET_WIDTH) - 1) * BUCKET_WIDTH
    return f"{lo:.1f}-{lo + BUCKET_WIDTH:.1f}"


def _groups(records: Sequence[BacktestRecord], key: Callable[[BacktestRecord], str]) -> list[Aggregate]:
    by: dict[str, list[BacktestRecord]] = {}
    for r in records:
        by.setdefault(key(r), []).append(r)
    return [aggregate(k, v) for k, v in sorted(by.items())]


def summarise(records: Sequence[BacktestRecord]) -> list[Aggregate]:
    """All events, signals, each event type, each confidence bucket (of all events)."""
    rows = [aggregate("all events", records), aggregate("signals", [r for r in records if r.passed])]
    rows += _groups(records, lambda r: r.scored.event.type.value)
    rows += _groups(records, lambda r: f"conf {bucket_of(r.scored.confidence.value)}")
    return rows


def _cell(a: Aggregate, h: int) -> str:
    hit, mean = a.hit_rate[h], a.mean_pnl[h]
    if hit is None or mean is None:
        return "-"
    return f"{100 * hit:.0f}% {mean:+.3f}"


def print_summary(result: BacktestResult, console: Console) -> None:
    records = result.records
    failed: dict[str, int] = {}
    for r in records:
        for v in r.verdicts:
            failed[v.name] = failed.get(v.name, 0) + (not v.passed)
    gaps = sum(s.gaps for s in result.symbols)
    console.print(
        f"[bold]Backtest[/bold]: {len(result.symbols)} symbols, {result.candles:,} candles "
        f"({gaps:,} missing minutes), {len(records):,} events, {len(result.signals):,} signals "
        f"in {result.seconds:.2f} s"
    )
    if failed:
        console.print("Events failing each filter: " + ", ".join(f"{k} {v:,}" for k, v in failed.items()))
    table = Table(title="Hit rate and mean PnL % per horizon (gross; net of fees at 15m)")
    table.add_column("group", no_wrap=True)
    table.add_column("n", justify="right")
    for h in HORIZONS_MIN:
        table.add_column(f"{h}m", justify="right")
    table.add_column("net 15m", justify="right")
    for a in summarise(records):
        net = f"{a.mean_net_15m:+.3f}" if a.mean_net_15m is not None else "-"
        table.add_row(a.label, str(a.count), *(_cell(a, h) for h in HORIZONS_MIN), net)
    console.print(table)
