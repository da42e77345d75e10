"""`soroka up` runs every service from a config directory; here against the simulator and the fake Telegram."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from soroka.commands.config import example

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(args: list[str], url: str) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "soroka", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def test_up_starts_every_service_from_config_files_and_stops_cleanly(
    tmp_path: Path, redis_url: str, postgres_server_url: str
) -> None:
    sim, tg = free_port(), free_port()
    database = f"soroka_up_{uuid.uuid4().hex[:8]}"
    database_url = urlparse(postgres_server_url)._replace(path=f"/{database}").geturl()
    strategy = f"up{uuid.uuid4().hex[:6]}"
    values = {
        "REDIS_URL": redis_url, "DATABASE_URL": database_url, "BINANCE_BASE_URL": f"http://127.0.0.1:{sim}",
        "TELEGRAM_API_URL": f"http://127.0.0.1:{tg}", "TELEGRAM_BOT_TOKEN": "123456:up-test",
        "TELEGRAM_CHAT_ID": "-100123", "STRATEGY_NAME": strategy, "HTTP_PORT": "0", "UNIVERSE_SIZE": "20",
        "TRADE_QUEUE_NAME": f"soroka:{strategy}:trades",
    }  # fmt: skip
    config = tmp_path / "config"
    config.mkdir()
    for service in ("ingest", "analyze", "evaluate", "publish", "trader"):
        lines = [
            f"{line.split('=', 1)[0]}={values[line.split('=', 1)[0]]}"
            if line.split("=", 1)[0] in values
            else line
            for line in example(service).splitlines()
        ]
        (config / f"{service}.env").write_text("\n".join(lines) + "\n")
    try:
        with (
            running(["simulate", "--symbols", "60", "--port", str(sim), "--speed", "60"], f"http://127.0.0.1:{sim}/api/v3/ping"),
            running(["fake-telegram", "--port", str(tg)], f"http://127.0.0.1:{tg}/fake/stats"),
        ):  # fmt: skip
            up = subprocess.Popen(
                [sys.executable, "-m", "soroka", "up", "--config-dir", str(config), "--no-view",
                 "--data-dir", str(tmp_path / "data")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            time.sleep(15)
            pids = json.loads((tmp_path / "data" / "pids.json").read_text())["services"]
            up.send_signal(signal.SIGINT)
            _, err = up.communicate(timeout=60)
        assert up.returncode == 0, err.decode()[-3000:]
        assert set(pids) == {"ingest", "analyze-1", "analyze-2", "evaluate", "publish", "trader"}
        for pid in pids.values():  # every service was running, and nothing it started is left running
            assert pid is not None
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        candles = asyncio.run(_count(database_url, "SELECT count(*) FROM candles"))
        assert candles >= 20 * 240  # the ingest ran: seeded windows of the 20-symbol universe
    finally:
        asyncio.run(_drop(postgres_server_url, database))


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _drop(server: str, database: str) -> None:
    conn = await asyncpg.connect(urlparse(server)._replace(path="/postgres").geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
