"""`soroka demo --replay DIR`: real Binance kline files instead of the synthetic market."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared_paths import KLINES_DIR

pytestmark = pytest.mark.timeout(180)


def test_the_demo_replays_real_kline_files_through_every_service(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    summary_file = tmp_path / "summary.json"
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url}
    cmd = [
        sys.executable, "-m", "soroka", "demo", "--replay", str(KLINES_DIR), "--minutes", "6", "--no-view",
        "--speed", "40", "--data-dir", str(tmp_path / "demo"), "--database-name",
        urlparse(database_url).path.lstrip("/"), "--summary-json", str(summary_file),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=150)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary["universe"] == 2  # FILUSDT and NEARUSDT
    assert summary["service_crashes"] == 0
    assert summary["candles_stored"] >= 2 * 5  # the files start at the clock: about one candle a minute each
