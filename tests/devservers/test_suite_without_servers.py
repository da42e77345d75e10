"""With no Redis or Postgres reachable, the suite's fixtures fall back to the embedded servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_store_backed_tests_pass_against_embedded_servers_when_none_is_reachable() -> None:
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/streams", "tests/evaluate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout.splitlines()[-1]
