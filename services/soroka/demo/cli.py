"""`soroka demo`: the whole platform on this machine: simulator, fake Telegram and every service, supervised.

Redis and Postgres come from REDIS_URL / DATABASE_URL, else from embedded servers under the data dir.
Each service runs as its own process with its own `.env` under ``<data-dir>/config/`` (edit one to
hot-reload it); logs go to ``<data-dir>/logs/``, process ids to ``<data-dir>/pids.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from soroka.cli import COMMANDS
from soroka.core.settings import SERVICE_SETTINGS, env_key
from soroka.demo.envfiles import DEMO_BOT_TOKEN, DEMO_CHAT_ID, DemoWiring, write_env_files
from soroka.demo.probing import Probe, Snapshot
from soroka.demo.stores import StoreError, open_stores
from soroka.demo.summary import Summary, build_summary
from soroka.demo.supervising import ServiceSpec, Supervisor
from soroka.demo.watching import WatchPlan, eprint, watch
from soroka.devservers import EmbeddedServerError, free_port

log = logging.getLogger("soroka.demo")
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
# The simulator plants breakouts from minute 15 of each hour: start just before, so one shows within a minute.
START_MINUTE = 13
DEFAULT_SPEED = 30.0
ANALYZERS = ("analyze-1", "analyze-2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=None, help="run N simulated minutes, then summarise")
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help="simulated seconds per real second"
    )
    parser.add_argument("--symbols", type=int, default=300, help="symbols of the synthetic market")
    parser.add_argument("--breakouts-per-hour", type=float, default=60.0, help="planted breakouts per hour")
    parser.add_argument("--seed", type=int, default=1, help="synthetic market seed")
    parser.add_argument(
        "--replay", type=Path, default=None, help="replay Binance kline CSVs from DIR instead"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".soroka"), help="state, logs, config (.soroka)"
    )
    parser.add_argument("--fresh", action="store_true", help="wipe the data directory first")
    parser.add_argument(
        "--database-name", default="soroka_demo", help="database created on DATABASE_URL's server"
    )
    parser.add_argument(
        "--strategy", default=None, help="STRATEGY_NAME (default: demo-<random>, one per run)"
    )
    parser.add_argument("--summary-json", type=Path, default=None, help="also write the summary as JSON here")
    parser.add_argument("--no-view", action="store_true", help="no live view: progress lines on stderr")


@dataclass(frozen=True)
class Layout:
    data_dir: Path

    @property
    def config(self) -> Path:
        return self.data_dir / "config"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def pids(self) -> Path:
        return self.data_dir / "pids.json"

    @property
    def run_file(self) -> Path:
        """This run's wiring (strategy, exchange-clock start, URLs, ports) for tools and tests."""
        return self.data_dir / "run.json"


def sim_start_ms(now_ms: int) -> int:
    """The first exchange-clock time at minute START_MINUTE of an hour not before `now_ms`."""
    start = now_ms - now_ms % HOUR_MS + START_MINUTE * MINUTE_MS
    return start if start >= now_ms else start + HOUR_MS


def child_environment() -> dict[str, str]:
    """The services' environment: ours without settings keys, so each `.env` file is what is in force."""
    keys = {env_key(n) for cls in SERVICE_SETTINGS.values() for n in cls.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in keys}


def missing_commands(commands: list[str]) -> list[str]:
    return [c for c in commands if importlib.util.find_spec(COMMANDS[c][0]) is None]


def wait_http(supervisor: Supervisor, name: str, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.poll()
        child = supervisor.children[name]
        if child.crashes:
            raise RuntimeError(f"{name} exited at start; see {supervisor.log_path(name)}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f}s; see {supervisor.log_path(name)}")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    layout = Layout(args.data_dir.resolve())
    if args.fresh and layout.data_dir.exists():
        shutil.rmtree(layout.data_dir)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=args.no_view)
    try:
        summary = _run(args, layout, console)
    except (StoreError, EmbeddedServerError, RuntimeError) as e:
        eprint(f"soroka demo: {e}")
        return 2
    print(summary.text())
    if args.summary_json is not None:
        summary.write(args.summary_json)
    return 0 if summary.ok else 1


def _run(args: argparse.Namespace, layout: Layout, console: Console) -> Summary:
    strategy = args.strategy or f"demo-{uuid.uuid4().hex[:6]}"
    started = time.time()
    with ExitStack() as stack:
        stores = open_stores(stack, layout.data_dir, args.database_name, os.environ)
        sim_port, tg_port = free_port(), free_port()
        sim_url, tg_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{tg_port}"
        services = ["ingest", *ANALYZERS, "evaluate", "publish", "trader"]
        ports = {name: free_port() for name in services}
        wiring = DemoWiring(
            redis_url=stores.redis_url, database_url=stores.database_url, binance_base_url=sim_url,
            telegram_api_url=tg_url, strategy=strategy, ports={**ports, "analyze": ports["analyze-1"]},
        )  # fmt: skip
        files = write_env_files(layout.config, wiring)
        supervisor = stack.enter_context(
            Supervisor(layout.logs, pids_file=layout.pids, base_env=child_environment())
        )
        start_ms = sim_start_ms(int(time.time() * 1000))
        market = ["--replay", str(args.replay)] if args.replay else ["--symbols", str(args.symbols)]
        supervisor.start(ServiceSpec.soroka("simulator", [
            "simulate", "--port", str(sim_port), "--speed", str(args.speed), "--seed", str(args.seed),
            "--start", str(start_ms), "--breakouts-per-hour", str(args.breakouts_per_hour), *market,
        ], {}, stop_last=True))  # fmt: skip
        supervisor.start(ServiceSpec.soroka(
            "fake-telegram", ["fake-telegram", "--port", str(tg_port), "--token", DEMO_BOT_TOKEN,
                              "--chat", DEMO_CHAT_ID], {}, stop_last=True,
        ))  # fmt: skip
        wait_http(supervisor, "simulator", sim_url + "/api/v3/time")
        wait_http(supervisor, "fake-telegram", tg_url + "/fake/messages")
        missing_cmds = missing_commands(["ingest", "analyze", "evaluate", "publish", "trader"])
        for cmd in missing_cmds:
            eprint(
                f"soroka demo: ERROR: `soroka {cmd}` is not available in this installation "
                f"({COMMANDS[cmd][0]} is missing): the demo runs without it and will exit non-zero"
            )
        missing = [n for n in services if n.split("-")[0] in missing_cmds]
        for name in services:
            if name in missing:
                continue
            cmd = name.split("-")[0]
            env = {"HTTP_PORT": str(ports[name])}
            if cmd == "analyze":
                env["CONSUMER_NAME"] = f"{strategy}-{name}"
            supervisor.start(ServiceSpec.soroka(name, [cmd, "--env-file", str(files[cmd])], env, ports[name]))
        run_info = {
            "strategy": strategy, "start_sim_ms": start_ms, "simulator_url": sim_url, "telegram_url": tg_url,
            "ports": ports, "config": {k: str(v) for k, v in files.items()}, "database_url": stores.database_url,
        }  # fmt: skip
        layout.run_file.write_text(json.dumps(run_info, indent=2) + "\n")
        eprint(
            f"soroka demo: strategy {strategy}; config {layout.config}; logs {layout.logs}; "
            f"simulator {sim_url}; fake Telegram {tg_url}"
        )
        probe = Probe(
            {n: ports[n] for n in services if n not in missing}, simulator_url=sim_url, telegram_url=tg_url,
            database_url=stores.database_url, strategy=strategy, since_ms=start_ms,
        )  # fmt: skip
        plan = WatchPlan(strategy, start_ms, args.minutes, not args.no_view, missing)
        snap = asyncio.run(_watch_and_close(supervisor, probe, plan, console))
        supervisor.poll()
        pids = supervisor.pids()
        supervisor.stop()
        start_sim = start_ms
        return build_summary(
            snap, strategy=strategy, start_sim_ms=start_sim, wall_seconds=time.time() - started,
            crashes={n: c.crashes for n, c in supervisor.children.items()}, missing=missing, pids=pids,
        )  # fmt: skip
    raise AssertionError("unreachable")


async def _watch_and_close(
    supervisor: Supervisor, probe: Probe, plan: WatchPlan, console: Console
) -> Snapshot:
    try:
        return await watch(supervisor, probe, plan, console, eprint)
    finally:
        await probe.aclose()
