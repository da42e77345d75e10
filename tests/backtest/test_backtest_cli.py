"""`soroka backtest` end to end on the real month: JSONL per event, summary, overrides, split files."""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path

import pytest

from shared_paths import KLINES_DIR
from soroka.analyze.detection import detect
from soroka.backtest.running import run_backtest
from soroka.cli import main
from soroka.core.settings import StrategySettings
from soroka.history.klinefiles import read_kline_file

FILES = [str(KLINES_DIR / "FILUSDT-1m-2025-09.csv.xz"), str(KLINES_DIR / "NEARUSDT-1m-2025-09.csv.xz")]
REQUIRED = {"symbol", "type", "open_time", "close", "level", "confidence", "passed", "failed_filters"}


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_backtest_writes_one_json_object_per_detected_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.jsonl"
    assert main(["backtest", *FILES, "--jsonl", str(out), "--no-progress"]) == 0
    rows = records(out)
    expected = sum(len(detect(*read_kline_file(f), StrategySettings())) for f in FILES)
    assert len(rows) == expected > 0
    for r in rows:
        assert REQUIRED | {f"pnl_{h}m" for h in (1, 2, 3, 5, 10, 15)} <= r.keys()
        assert r["passed"] == (r["failed_filters"] == [])
        assert r["metrics"]["liquidity_rank"] in (1.0, 2.0) and r["metrics"]["universe_size"] == 2.0  # type: ignore[index]
    assert any(r["passed"] for r in rows) and not all(r["passed"] for r in rows)
    assert [r["open_time"] for r in rows] == sorted(r["open_time"] for r in rows)  # type: ignore[type-var]
    summary = capsys.readouterr().out
    assert f"{len(rows)} events" in summary and "signals" in summary and "conf 0.5-0.6" in summary


def test_set_overrides_the_configuration(tmp_path: Path) -> None:
    out = tmp_path / "any.jsonl"
    assert main(["backtest", *FILES, "--jsonl", str(out), "--no-progress",
                 "--set", "EVENT_FILTER_TYPE=ANY", "--set", "min_trade_count=0"]) == 0  # fmt: skip
    rows = records(out)
    assert all(
        "event_type" not in r["failed_filters"] and "trade_count" not in r["failed_filters"] for r in rows
    )  # type: ignore[operator]


def test_env_file_is_read_and_flags_win(tmp_path: Path) -> None:
    env = tmp_path / "analyze.env"
    env.write_text("LOOKBACK=5\nMIN_EVENT_INTERVAL_MINUTES=30\n")
    out = tmp_path / "e.jsonl"
    assert (
        main(
            [
                "backtest",
                FILES[0],
                "--env-file",
                str(env),
                "--set",
                "LOOKBACK=4",
                "--jsonl",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    params = StrategySettings(lookback=4, min_event_interval_minutes=30)
    assert len(records(out)) == len(detect(*read_kline_file(FILES[0]), params))


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("LOOKBACK=0", "LOOKBACK='0' is invalid"),
        ("NOPE=1", "unknown strategy key"),
        ("LOOKBACK", "expected KEY=VALUE"),
    ],
)
def test_invalid_override_is_one_clear_line_and_exit_2(
    flag: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", FILES[0], "--set", flag, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_one_symbol_split_over_files_equals_the_whole_file(tmp_path: Path) -> None:
    lines = lzma.decompress(Path(FILES[0]).read_bytes()).decode().splitlines()
    header, body = lines[0], lines[1:]
    half = len(body) // 2
    (tmp_path / "FILUSDT-1m-2025-09-b.csv.gz").write_bytes(
        gzip.compress("\n".join(body[half - 10 :]).encode())
    )
    (tmp_path / "FILUSDT-1m-2025-09-a.csv").write_text("\n".join([header, *body[:half]]))
    split = run_backtest(sorted(tmp_path.iterdir(), reverse=True), StrategySettings())
    whole = run_backtest([FILES[0]], StrategySettings())
    assert [r.to_json() for r in split.records] == [r.to_json() for r in whole.records]
    assert split.symbols[0].files == 2 and split.candles == whole.candles


def test_unreadable_file_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "BADUSDT-1m-2025-09.csv"
    bad.write_text("1756684800000,1,2,oops,1,1,1,1,1,1,1,0\n")
    assert main(["backtest", str(bad), "--no-progress"]) == 1
    assert "BADUSDT-1m-2025-09.csv" in capsys.readouterr().err
