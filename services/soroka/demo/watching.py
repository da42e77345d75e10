"""The demo's foreground loop: watch the supervised services, refresh the view, stop on Ctrl-C or after N minutes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live

from soroka.demo.probing import Probe, Snapshot
from soroka.demo.supervising import Supervisor
from soroka.demo.view import ProcessInfo, Rates, render


@dataclass(frozen=True)
class WatchPlan:
    strategy: str
    start_sim_ms: int
    minutes: float | None
    show_view: bool
    missing: list[str]
    interval: float = 1.0
    progress_every: float = 10.0


def processes(supervisor: Supervisor) -> dict[str, ProcessInfo]:
    return {
        n: ProcessInfo(c.pid if c.running else None, c.state, c.crashes)
        for n, c in supervisor.children.items()
    }


async def watch(
    supervisor: Supervisor, probe: Probe, plan: WatchPlan, console: Console, log: Callable[[str], None]
) -> Snapshot:
    """Run until Ctrl-C/SIGTERM, or until the exchange clock has moved `plan.minutes`; return the last look."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_signal() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    rates = Rates()
    live = Live(console=console, auto_refresh=False, transient=False) if plan.show_view else None
    last_progress = 0.0
    try:
        if live is not None:
            live.start()
        while True:
            for name in supervisor.poll():
                child = supervisor.children[name]
                log(f"service {name} exited with code {child.exit_codes[-1]} (crash #{child.crashes}); "
                    f"see {supervisor.log_path(name)}")  # fmt: skip
            snap = await probe.snapshot()
            rates.add(snap.sim_now_ms, snap.counts.candles)
            if live is not None:
                live.update(
                    render(
                        snap, strategy=plan.strategy, start_sim_ms=plan.start_sim_ms, rates=rates,
                        processes=processes(supervisor), missing=plan.missing, minutes=plan.minutes,
                    ),
                    refresh=True,
                )  # fmt: skip
            elif time.monotonic() - last_progress >= plan.progress_every:
                last_progress = time.monotonic()
                log(_progress(snap, plan))
            done = (
                plan.minutes is not None
                and snap.sim_now_ms is not None
                and snap.sim_now_ms - plan.start_sim_ms >= plan.minutes * 60_000
            )
            if done or stop.is_set():
                return snap
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), plan.interval)
            if stop.is_set():
                # Interrupted: keep the last full look (a terminal's Ctrl-C also reaches the embedded servers).
                return snap
    finally:
        if live is not None:
            live.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _progress(snap: Snapshot, plan: WatchPlan) -> str:
    c = snap.counts
    minutes = ((snap.sim_now_ms or plan.start_sim_ms) - plan.start_sim_ms) / 60_000
    ready = sum(1 for v in snap.services.values() if v.ready)
    return (
        f"[{minutes:5.1f} sim min] candles {c.candles}, events {sum(c.events.values())}, "
        f"signals {sum(c.signals.values())}, posts {len(snap.telegram)}, reports {c.reports}, "
        f"trades {c.trades_open + c.trades_closed}; {ready}/{len(snap.services)} services ready"
    )


def eprint(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
