"""A demo service's `.env` edited while it runs: the new value is in force within seconds, an invalid one is
rejected (logged) and the previous value stays; the process is never restarted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from soroka.demo.cli import child_environment
from soroka.demo.envfiles import DemoWiring, write_env_files
from soroka.demo.supervising import ServiceSpec, Supervisor
from soroka.devservers import free_port
from soroka.storage.migrating import migrate


def _config(port: int) -> dict[str, Any]:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/config", timeout=1)
        return dict(r.json()) if r.status_code == 200 else {}
    except httpx.HTTPError:
        return {}


def _wait_for(port: int, key: str, value: object, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    cfg: dict[str, Any] = {}
    while time.monotonic() < deadline:
        cfg = _config(port)
        if cfg.get(key) == value:
            return cfg
        time.sleep(0.2)
    raise AssertionError(f"{key} is {cfg.get(key)!r}, not {value!r}, after {timeout}s")


def _edit(path: Path, key: str, value: str) -> None:
    lines = [
        f"{key}={value}" if line.startswith(f"{key}=") else line for line in path.read_text().splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")


def test_edited_env_value_applies_without_restart_and_invalid_edit_keeps_old_value(
    tmp_path: Path, redis_url: str, database_url: str, strategy: str
) -> None:
    asyncio.run(migrate(database_url))
    port = free_port()
    wiring = DemoWiring(
        redis_url=redis_url, database_url=database_url, binance_base_url="http://127.0.0.1:9",
        telegram_api_url="http://127.0.0.1:9", strategy=strategy, ports={"analyze": port},
    )  # fmt: skip
    env_file = write_env_files(tmp_path / "config", wiring)["analyze"]
    with Supervisor(tmp_path / "logs", base_env=child_environment()) as sup:
        child = sup.start(ServiceSpec.soroka("analyze", ["analyze", "--env-file", str(env_file)], {}, port))
        _wait_for(port, "CONFIDENCE_MIN", 0.45, timeout=30)
        pid = child.pid

        started = time.monotonic()
        _edit(env_file, "CONFIDENCE_MIN", "0.55")
        _wait_for(port, "CONFIDENCE_MIN", 0.55, timeout=10)
        applied_after = time.monotonic() - started

        _edit(env_file, "CONFIDENCE_MIN", "1.7")
        log = sup.log_path("analyze")
        deadline = time.monotonic() + 10
        while "CONFIDENCE_MIN='1.7' is invalid" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "CONFIDENCE_MIN='1.7' is invalid" in log.read_text()
        assert "keeping the current settings" in log.read_text()
        assert _config(port)["CONFIDENCE_MIN"] == 0.55
        assert sup.poll() == []
        assert child.pid == pid and child.starts == 1 and child.crashes == 0
    assert applied_after < 5
