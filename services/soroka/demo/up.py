"""`soroka up`: the same supervised services as the demo, against external Redis/Postgres and real Binance.

A single-machine production deployment: each service reads its own `.env` from ``--config-dir`` (edit one
to hot-reload it), the schema is migrated first, crashed services are restarted (each crash counted and
logged), and Ctrl-C or SIGTERM stops everything. No simulator, no fake Telegram: the files say where
Binance and Telegram are.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from contextlib import ExitStack
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console

from soroka.core.configuring import load_settings
from soroka.core.settings import ConnectionSettings
from soroka.demo.cli import Layout, child_environment, missing_commands
from soroka.demo.envfiles import SERVICES
from soroka.demo.probing import Probe, Snapshot
from soroka.demo.supervising import ServiceSpec, Supervisor
from soroka.demo.watching import WatchPlan, eprint, watch
from soroka.storage.migrating import ensure_database, migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config-dir", type=Path, default=Path("config"), help="one <service>.env per service"
    )
    parser.add_argument("--analyzers", type=int, default=2, help="analyzer replicas (consumer group members)")
    parser.add_argument("--data-dir", type=Path, default=Path(".soroka"), help="logs and pids.json")
    parser.add_argument("--max-restarts", type=int, default=10, help="restarts of a crashing service")
    parser.add_argument("--no-view", action="store_true", help="no live view: progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    files = {s: args.config_dir / f"{s}.env" for s in SERVICES}
    absent = [str(p) for p in files.values() if not p.is_file()]
    if absent:
        eprint(f"soroka up: missing configuration files: {', '.join(absent)}")
        return 2
    missing = missing_commands(list(SERVICES))
    if missing:
        eprint(f"soroka up: commands not available in this installation: {', '.join(missing)}")
        return 2
    conn = load_settings(_Connection, files["ingest"])
    asyncio.run(ensure_database(conn.database_url))
    applied = asyncio.run(migrate(conn.database_url))
    eprint(f"soroka up: schema up to date ({len(applied)} migrations applied now)")
    layout = Layout(args.data_dir.resolve())
    names: list[tuple[str, str, dict[str, str]]] = []
    for service in SERVICES:
        if service != "analyze":
            names.append((service, service, {}))
            continue
        port = load_settings(_Connection, files["analyze"]).http_port
        for i in range(args.analyzers):
            env = {
                "HTTP_PORT": str(port + i if port else 0),
                "CONSUMER_NAME": f"{os.uname().nodename}-analyze-{i + 1}",
            }
            names.append((f"analyze-{i + 1}", service, env))
    ports = {
        name: int(env.get("HTTP_PORT") or load_settings(_Connection, files[svc]).http_port)
        for name, svc, env in names
    }
    console = Console(stderr=args.no_view)
    started = time.time()
    with ExitStack() as stack:
        supervisor = stack.enter_context(
            Supervisor(
                layout.logs,
                pids_file=layout.pids,
                base_env=child_environment(),
                max_restarts=args.max_restarts,
            )
        )
        for name, svc, env in names:
            supervisor.start(ServiceSpec.soroka(name, [svc, "--env-file", str(files[svc])], env, ports[name]))
        probe = Probe(
            ports, simulator_url=None, telegram_url=None, database_url=conn.database_url,
            strategy=conn.strategy_name, since_ms=int(started * 1000),
        )  # fmt: skip
        plan = WatchPlan(conn.strategy_name, int(started * 1000), None, not args.no_view, [])
        asyncio.run(_watch(supervisor, probe, plan, console))
        supervisor.stop()
    crashes = sum(c.crashes for c in supervisor.children.values())
    eprint(f"soroka up: stopped; {crashes} service crash(es) during the run")
    return 0 if crashes == 0 else 1


class _Connection(BaseSettings, ConnectionSettings):
    """Just the connection keys of a service's file (the rest is the service's business)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)


async def _watch(supervisor: Supervisor, probe: Probe, plan: WatchPlan, console: Console) -> Snapshot:
    try:
        return await watch(supervisor, probe, plan, console, eprint)
    finally:
        await probe.aclose()
