"""The demo's live terminal view (rich): market, detections, Telegram posts, PnL, paper equity, service health."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from soroka.core.messages import HORIZONS_MIN
from soroka.demo.probing import Snapshot

_TAG = re.compile(r"<[^>]+>")
# Strategy values shown with each service, so a hot-reloaded edit is seen in force.
SHOWN_CONFIG: dict[str, tuple[str, ...]] = {
    "analyze": ("CONFIDENCE_MIN", "CONFIDENCE_MAX", "EVENT_FILTER_TYPE", "BOS_STRENGTH_THRESHOLD"),
    "evaluate": ("FEE_PCT", "REPORT_EACH_HORIZON"),
    "trader": ("ALLOCATION_PCT", "STOPLOSS_PCT", "TRADE_TIME"),
    "publish": ("REPORT_MODE", "DIGEST_THRESHOLD"),
    "ingest": ("UNIVERSE_SIZE", "WEIGHT_BUDGET"),
}


@dataclass
class Rates:
    """Candles per simulated minute over the last few looks."""

    points: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=10))

    def add(self, sim_ms: int | None, candles: float) -> None:
        if sim_ms is not None:
            self.points.append((sim_ms, candles))

    def per_minute(self) -> float | None:
        if len(self.points) < 2:
            return None
        (t0, c0), (t1, c1) = self.points[0], self.points[-1]
        return (c1 - c0) / ((t1 - t0) / 60_000) if t1 > t0 else None


@dataclass(frozen=True)
class ProcessInfo:
    pid: int | None
    state: str
    crashes: int


def _fmt_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(
    snap: Snapshot,
    *,
    strategy: str,
    start_sim_ms: int,
    rates: Rates,
    processes: Mapping[str, ProcessInfo],
    missing: list[str],
    minutes: float | None,
) -> RenderableType:
    c = snap.counts
    ingest = snap.services.get("ingest")
    elapsed = ((snap.sim_now_ms or start_sim_ms) - start_sim_ms) / 60_000
    goal = f" of {minutes:g}" if minutes else ""
    header = Text.assemble(
        ("Soroka demo ", "bold"),
        f"strategy {strategy}  |  exchange clock {_fmt_time(snap.sim_now_ms)}  x{snap.sim_speed or 0:g}  |  ",
        f"{elapsed:.1f}{goal} simulated minutes  |  Ctrl-C stops everything",
    )
    market = Table.grid(padding=(0, 2))
    per_min = rates.per_minute()
    weight = ingest.metric("soroka_binance_weight_used") if ingest else 0.0
    weight_budget = ingest.config.get("WEIGHT_BUDGET", "-") if ingest else "-"
    market.add_row("universe", str(int(ingest.metric("soroka_ingest_universe_symbols")) if ingest else 0))
    market.add_row("candles / sim minute", f"{per_min:.0f}" if per_min is not None else "-")
    market.add_row("candles stored", str(c.candles))
    market.add_row("Binance weight used", f"{weight:.0f} / {weight_budget} per minute")
    market.add_row(
        "breakouts planted", str(sum(1 for b in snap.breakouts if b.get("open_time", 0) >= start_sim_ms))
    )

    detect = Table("type", "events", "signals", box=None)
    for t in sorted(set(c.events) | set(c.signals)) or ["BOS_UP", "BOS_DOWN"]:
        detect.add_row(t, str(c.events.get(t, 0)), str(c.signals.get(t, 0)))
    detect.add_row("reports", str(c.reports), "")

    pnl = Table(*[f"{h}m" for h in HORIZONS_MIN], title="mean net PnL % by horizon", box=None)
    pnl.add_row(*[_pct(c.pnl_by_horizon.get(str(h))) for h in HORIZONS_MIN])
    paper = Text(
        f"paper equity {c.equity:.2f} USDT" if c.equity is not None else "paper equity: no trade yet",
        style="bold",
    )
    paper.append(f"   trades open {c.trades_open}, closed {c.trades_closed}", style="")

    posts = Table("id", "reply to", "text", box=None, title="latest Telegram posts (fake server)")
    for m in snap.telegram[-6:]:
        first = html.unescape(_TAG.sub("", str(m.get("text", "")))).strip().splitlines()
        posts.add_row(
            str(m.get("message_id", "")), str(m.get("reply_to") or ""), (first[0] if first else "")[:90]
        )

    health = Table("service", "pid", "process", "ready", "crashes", "config in force", box=None)
    for name, info in processes.items():
        view = snap.services.get(name)
        if name in ("simulator", "fake-telegram"):
            up = snap.sim_now_ms is not None if name == "simulator" else snap.telegram_up
            ready = Text("answering", "green") if up else Text("down", "red")
        elif view is not None and view.ready:
            ready = Text("ready", "green")
        else:
            ready = Text((view.detail or "not ready") if view and view.reachable else "down", "red")
        cfg = ""
        if view is not None:
            keys = SHOWN_CONFIG.get(name.split("-")[0], ())
            cfg = " ".join(f"{k}={view.config[k]}" for k in keys if k in view.config)
        style = "green" if info.state == "running" else "red"
        crashes = Text(str(info.crashes), "red" if info.crashes else "")
        health.add_row(name, str(info.pid or "-"), Text(info.state, style), ready, crashes, cfg)
    for name in missing:
        health.add_row(name, "-", Text("missing", "red"), Text("command not installed", "red"), "", "")

    return Group(
        header,
        Panel(
            Group(_side_by_side(market, detect), pnl, paper),
            title="market, detections, PnL",
            border_style="blue",
        ),
        Panel(posts, border_style="cyan"),
        Panel(health, title="services", border_style="magenta"),
    )


def _side_by_side(left: RenderableType, right: RenderableType) -> Table:
    grid = Table.grid(padding=(0, 6))
    grid.add_row(left, right)
    return grid


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.3f}"
