"""`soroka demo --minutes N`: planted breakouts become signals, posts, PnL replies and paper trades, across
separate processes on real Redis/Postgres, with one analyzer killed mid-run losing and duplicating nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx
import pytest

from soroka.core.configuring import read_env_file
from soroka.core.messages import HORIZONS_MIN

pytestmark = pytest.mark.timeout(240)
MINUTES = 28  # breakouts from minute ~5 need 15 more minutes for their report, then the reply
KILL_AT_MINUTE = 6


def _sim_minutes(sim_url: str, start_ms: int) -> float:
    try:
        return (httpx.get(sim_url + "/sim/clock", timeout=1).json()["now"] - start_ms) / 60_000
    except (httpx.HTTPError, ValueError, KeyError):
        return 0.0


def _kill_one_analyzer(data: Path, proc: subprocess.Popen[bytes]) -> int:
    """Wait until the exchange clock passed KILL_AT_MINUTE, then SIGKILL analyze-1; its pid."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        pids, run = data / "pids.json", data / "run.json"
        if run.exists():
            sim_url = read_env_file(data / "config" / "ingest.env")["BINANCE_BASE_URL"]
            start = int(json.loads(run.read_text())["start_sim_ms"])
            if _sim_minutes(sim_url, start) >= KILL_AT_MINUTE:
                pid = int(json.loads(pids.read_text())["services"]["analyze-1"])
                os.kill(pid, signal.SIGKILL)
                return pid
        time.sleep(0.2)
    raise AssertionError("the demo did not reach the kill point")


async def _rows(database_url: str, strategy: str) -> dict[str, list[asyncpg.Record]]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            "events": await conn.fetch("SELECT * FROM events WHERE strategy = $1", strategy),
            "signals": await conn.fetch("SELECT * FROM signals WHERE strategy = $1", strategy),
            "performance": await conn.fetch("SELECT * FROM performance WHERE strategy = $1", strategy),
            "trades": await conn.fetch("SELECT * FROM paper_trades WHERE strategy = $1", strategy),
            "deliveries": await conn.fetch(
                "SELECT * FROM deliveries WHERE strategy = $1 AND message_id IS NOT NULL", strategy
            ),
            "symbols": await conn.fetch("SELECT DISTINCT symbol FROM candles"),
        }
    finally:
        await conn.close()


def _report_has_all_horizons(text: str) -> bool:
    return all(re.search(rf"^\s*{h}m\s+[+-]\d+\.\d+%", text, re.M) for h in HORIZONS_MIN)


def test_planted_breakouts_flow_to_telegram_pnl_and_trader_despite_a_killed_analyzer(
    tmp_path: Path, redis_url: str, database_url: str
) -> None:
    data, summary_file = tmp_path / "demo", tmp_path / "summary.json"
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url}
    cmd = [
        sys.executable, "-m", "soroka", "demo", "--minutes", str(MINUTES), "--no-view", "--speed", "40",
        "--symbols", "200", "--breakouts-per-hour", "120", "--data-dir", str(data),
        "--database-name", urlparse(database_url).path.lstrip("/"), "--summary-json", str(summary_file),
    ]  # fmt: skip
    started = time.monotonic()
    with (tmp_path / "demo.err").open("wb") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err)
        try:
            killed = _kill_one_analyzer(data, proc)
            out, _ = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - started
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    print(out.decode(), f"wall {wall:.1f}s", sep="\n")

    # The kill is a crash: counted, the analyzer restarted, and the run reports failure.
    assert proc.returncode == 1, (tmp_path / "demo.err").read_text()[-3000:]
    assert summary["crashes_by_service"] == {
        "simulator": 0, "fake-telegram": 0, "ingest": 0, "analyze-1": 1, "analyze-2": 0,
        "evaluate": 0, "publish": 0, "trader": 0,
    }  # fmt: skip
    assert summary["pids"]["analyze-1"] not in (None, killed)
    assert summary["sim_minutes"] >= MINUTES
    for key in ("candles_stored", "events", "signals", "telegram_posts", "pnl_reports", "paper_trades"):
        assert summary[key] > 0, key

    rows = asyncio.run(_rows(database_url, summary["strategy"]))
    universe = {r["symbol"] for r in rows["symbols"]}
    start = int(json.loads((data / "run.json").read_text())["start_sim_ms"])
    end = start + MINUTES * 60_000

    # Nothing lost: every breakout planted on a scanned symbol and closed in time was detected.
    planted = [b for b in summary["breakouts"] if b["symbol"] in universe and b["open_time"] < end - 120_000]
    assert planted
    events = {(e["symbol"], e["type"], e["open_time"]): e for e in rows["events"]}
    lost = [b for b in planted if (b["symbol"], b["type"], b["open_time"]) not in events]
    assert not lost, lost

    # Nothing duplicated: one event per candle and type, one signal per event, one post per text.
    assert len(events) == len(rows["events"])
    assert len({s["event_id"] for s in rows["signals"]}) == len(rows["signals"])
    assert len({(s["symbol"], s["open_time"]) for s in rows["signals"]}) == len(rows["signals"])
    texts = [m["text"] for m in summary["telegram"]]
    assert len(texts) == len(set(texts))

    # At least one planted breakout made it all the way: signal, post, PnL reply with six horizons, trade.
    posts = {m["message_id"]: m for m in summary["telegram"]}
    signal_ids = {s["event_id"] for s in rows["signals"]}
    perf = {p["event_id"]: p for p in rows["performance"]}
    traded = {t["event_id"] for t in rows["trades"]}
    delivered = {d["ref"]: d["message_id"] for d in rows["deliveries"] if d["kind"] == "signal"}
    stages = {"signal": 0, "posted": 0, "replied": 0, "final": 0, "traded": 0}
    for b in planted:
        event_id = events[(b["symbol"], b["type"], b["open_time"])]["event_id"]
        message_id = delivered.get(event_id)
        if event_id not in signal_ids:
            continue
        stages["signal"] += 1
        if message_id not in posts or b["symbol"] not in posts[message_id]["text"]:
            continue  # a signal's post may be a digest of several: it names the symbol all the same
        stages["posted"] += 1
        if not any(
            m["reply_to"] == message_id and b["symbol"] in m["text"] and _report_has_all_horizons(m["text"])
            for m in summary["telegram"]
        ):
            continue
        stages["replied"] += 1
        if not perf.get(event_id, {}).get("final"):
            continue
        stages["final"] += 1
        stages["traded"] += event_id in traded
    assert stages["traded"] > 0, f"planted breakouts reaching each stage: {stages} of {len(planted)}"
