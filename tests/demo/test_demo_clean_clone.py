"""`make demo` from a clean clone in a fresh virtual environment (as CI does), with and without
REDIS_URL/DATABASE_URL (without: embedded servers from the `embedded` extra).

The clone holds exactly the repository's files (`git ls-files`, untracked-but-not-ignored included, so the
test also covers work not committed yet). The fresh venv gets the project with `pip install -e` from the
clone (its build backend from pip's cache, as `make install` left it); its third-party dependencies come
from this interpreter's site-packages through a `.pth` line, so the suite downloads no dependency. The Makefile's install stamp is set, so `make demo` runs exactly
its `$(VENV)/bin/soroka demo $(DEMO_ARGS)` line: the entry point the clone installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def clone_with_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("git") is None or shutil.which("make") is None or not (REPO / ".git").exists():
        pytest.skip("needs git, make and a git checkout")
    root = tmp_path_factory.mktemp("clone")
    clone, venv = root / "repo", root / "venv"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / name)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "_soroka_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "-e", str(clone)],
        check=True, capture_output=True,
    )  # fmt: skip
    (venv / ".installed").touch()
    os.utime(venv / ".installed", (time.time() + 5, time.time() + 5))  # newer than the clone's pyproject.toml
    return clone, venv


def _make_demo(
    clone: Path, venv: Path, summary: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    args = f"--minutes 6 --speed 60 --symbols 40 --no-view --fresh --summary-json {summary}"
    return subprocess.run(
        ["make", "-C", str(clone), "demo", f"VENV={venv}", f"DEMO_ARGS={args}"],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "PYTHONPATH")}


def test_entry_point_runs_the_clones_code(clone_with_venv: tuple[Path, Path]) -> None:
    clone, venv = clone_with_venv
    where = subprocess.run(
        [str(venv / "bin" / "soroka"), "config", "show", "--service", "ingest", "--json"],
        capture_output=True, text=True, check=True, cwd="/", env=_clean_env(),
    )  # fmt: skip
    assert json.loads(where.stdout)["UNIVERSE_SIZE"] == 150
    origin = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import soroka.demo.cli as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout.strip()
    assert origin.startswith(str(clone))


@pytest.mark.parametrize("stores", ["embedded", "external"])
def test_make_demo_from_a_clean_clone(
    clone_with_venv: tuple[Path, Path], tmp_path: Path, stores: str, request: pytest.FixtureRequest
) -> None:
    clone, venv = clone_with_venv
    env = _clean_env()
    if stores == "external":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
        env["DATABASE_URL"] = request.getfixturevalue("database_url")
    summary_file = tmp_path / "summary.json"
    started = time.monotonic()
    result = _make_demo(clone, venv, summary_file, env)
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    print(f"make demo ({stores}): {wall:.1f}s wall")
    assert summary["ok"] and summary["service_crashes"] == 0 and summary["missing_services"] == []
    assert summary["candles_stored"] > 0 and summary["universe"] > 0, result.stdout
    data = clone / ".soroka"  # the default data directory, in the directory make ran in
    template_header = (clone / "config" / "ingest.env").read_text().splitlines()[0]
    assert (data / "config" / "ingest.env").read_text().splitlines()[
        0
    ] == template_header  # the clone's template
    assert (data / "redis").exists() is (stores == "embedded")
    assert (data / "postgres").exists() is (stores == "embedded")
    assert "embedded" in result.stderr if stores == "embedded" else "embedded" not in result.stderr
