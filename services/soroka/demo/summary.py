"""The demo's closing summary: what one run produced, as text and as JSON (`--summary-json`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from soroka.demo.probing import Snapshot


@dataclass(frozen=True)
class Summary:
    strategy: str
    sim_minutes: float
    wall_seconds: float
    speed: float
    universe: int
    candles_stored: int
    events: int
    events_by_type: Mapping[str, int]
    signals: int
    signals_by_type: Mapping[str, int]
    telegram_posts: int
    telegram_replies: int
    pnl_reports: int
    paper_trades: int
    paper_trades_closed: int
    paper_equity: float | None
    breakouts_planted: int
    service_crashes: int
    crashes_by_service: Mapping[str, int]
    missing_services: list[str] = field(default_factory=list)
    pids: Mapping[str, int | None] = field(default_factory=dict)
    telegram: list[dict[str, Any]] = field(default_factory=list)  # every post on the fake server
    breakouts: list[dict[str, Any]] = field(default_factory=list)  # planted during the run (ground truth)

    @property
    def ok(self) -> bool:
        return self.service_crashes == 0 and not self.missing_services

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    def text(self) -> str:
        crashes = ", ".join(f"{k} x{v}" for k, v in self.crashes_by_service.items() if v) or "none"
        lines = [
            f"soroka demo: {self.sim_minutes:.1f} simulated minutes in {self.wall_seconds:.0f}s "
            f"(speed {self.speed:g}x), strategy {self.strategy}",
            f"  universe {self.universe} symbols, {self.candles_stored} candles stored",
            f"  events {self.events} {dict(self.events_by_type)}, signals {self.signals} {dict(self.signals_by_type)}"
            f" ({self.breakouts_planted} breakouts planted)",
            f"  telegram posts {self.telegram_posts} ({self.telegram_replies} replies), "
            f"PnL reports {self.pnl_reports}",
            f"  paper trades {self.paper_trades} ({self.paper_trades_closed} closed), equity "
            + (f"{self.paper_equity:.2f}" if self.paper_equity is not None else "-"),
            f"  service crashes: {crashes}",
        ]
        if self.missing_services:
            lines.append(
                f"  NOT RUN (command missing from this installation): {', '.join(self.missing_services)}"
            )
        return "\n".join(lines)


def build_summary(
    snap: Snapshot,
    *,
    strategy: str,
    start_sim_ms: int,
    wall_seconds: float,
    crashes: Mapping[str, int],
    missing: list[str],
    pids: Mapping[str, int | None],
) -> Summary:
    c = snap.counts
    ingest = snap.services.get("ingest")
    universe = int(ingest.metric("soroka_ingest_universe_symbols")) if ingest is not None else 0
    planted = [b for b in snap.breakouts if b.get("open_time", 0) >= start_sim_ms]
    sim_minutes = ((snap.sim_now_ms or start_sim_ms) - start_sim_ms) / 60_000
    return Summary(
        strategy=strategy,
        sim_minutes=round(sim_minutes, 2),
        wall_seconds=round(wall_seconds, 1),
        speed=snap.sim_speed or 0.0,
        universe=universe,
        candles_stored=c.candles,
        events=sum(c.events.values()),
        events_by_type=dict(c.events),
        signals=sum(c.signals.values()),
        signals_by_type=dict(c.signals),
        telegram_posts=len(snap.telegram),
        telegram_replies=sum(1 for m in snap.telegram if m.get("reply_to") is not None),
        pnl_reports=c.reports,
        paper_trades=c.trades_open + c.trades_closed,
        paper_trades_closed=c.trades_closed,
        paper_equity=c.equity,
        breakouts_planted=len(planted),
        service_crashes=sum(crashes.values()),
        crashes_by_service=dict(crashes),
        missing_services=list(missing),
        pids=dict(pids),
        telegram=list(snap.telegram),
        breakouts=planted,
    )
