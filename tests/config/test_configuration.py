"""Configuration: every product key exists with its default, bad values stop a service with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from soroka.cli import main
from soroka.commands.config import example, reference
from soroka.core.configuring import load_settings, masked_dump
from soroka.core.settings import PRODUCT_DEFAULTS, SERVICE_SETTINGS, ConfigError, StrategySettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_product_default_key_exists_with_the_product_value() -> None:
    s = masked_dump(load_settings(StrategySettings, environ={}))
    s.update(
        {
            k: v
            for k, v in masked_dump(load_settings(SERVICE_SETTINGS["analyze"], environ={})).items()
            if k not in s
        }
    )
    for key, value in PRODUCT_DEFAULTS.items():
        assert key in s, key
        got = s[key]
        assert (float(got) == float(value)) if isinstance(got, int | float) else (str(got) == value), (
            key,
            got,
            value,
        )


def test_the_example_env_files_are_generated_from_the_models() -> None:
    for service in SERVICE_SETTINGS:
        assert (ROOT / "config" / f"{service}.env").read_text() == example(service), (
            f"regenerate config/{service}.env"
        )


def test_the_readme_configuration_reference_is_generated_from_the_models() -> None:
    text = (ROOT / "README.md").read_text()
    start, end = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
    assert text[text.index(start) + len(start) : text.index(end)] == reference()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOOKBACK": "0"}, "LOOKBACK='0' is invalid"),
        ({"EVENT_FILTER_TYPE": "BOS_SIDEWAYS"}, "EVENT_FILTER_TYPE='BOS_SIDEWAYS' is invalid"),
        (
            {"CONFIDENCE_MIN": "0.9", "CONFIDENCE_MAX": "0.5"},
            "CONFIDENCE_MIN=0.9 must be <= CONFIDENCE_MAX=0.5",
        ),
        ({"UNIVERSE_SIZE": "-3"}, "UNIVERSE_SIZE='-3' is invalid"),
        ({"MAX_VOLATILITY": "0"}, "MAX_VOLATILITY='0' is invalid"),
        ({"TRADE_QUEUE_NAME": "bad queue"}, "TRADE_QUEUE_NAME='bad queue' is invalid"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL='localhost:6379' is invalid"),
        ({"LEVERAGE": "500"}, "LEVERAGE='500' is invalid"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_key_and_what_is_allowed(env: dict[str, str], named: str) -> None:
    cls = SERVICE_SETTINGS["trader"] if "LEVERAGE" in env else StrategySettings
    if "REDIS_URL" in env:
        cls = SERVICE_SETTINGS["analyze"]
    with pytest.raises(ConfigError) as e:
        load_settings(cls, environ=env)
    assert named in str(e.value) and "\n" not in str(e.value)


def test_a_service_with_a_bad_env_file_stops_at_start_with_one_line(tmp_path: Path) -> None:
    env = tmp_path / "ingest.env"
    env.write_text("UNIVERSE_SIZE=lots\nREDIS_URL=redis://127.0.0.1:1/0\n")
    proc = subprocess.run(
        [sys.executable, "-m", "soroka", "ingest", "--env-file", str(env), "--once"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "UNIVERSE_SIZE='lots' is invalid" in lines[0]
        and "positive integer or 'all'" in lines[0]
    )


def test_config_show_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / "publish.env"
    env.write_text("TELEGRAM_BOT_TOKEN=123456:very-secret\nDATABASE_URL=postgresql://u:hunter2@db/soroka\n")
    assert main(["config", "show", "--env-file", str(env)]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out and "hunter2" not in out
    assert "TELEGRAM_BOT_TOKEN=**********" in out and "UNIVERSE_SIZE" not in out


def test_an_empty_token_file_line_means_no_token_file(tmp_path: Path) -> None:
    env = tmp_path / "publish.env"
    env.write_text("TELEGRAM_TOKEN_FILE=\nTELEGRAM_BOT_TOKEN=\n")
    s = load_settings(SERVICE_SETTINGS["publish"], env, environ={})
    assert s.telegram_token_file is None and s.bot_token() is None  # type: ignore[attr-defined]


def test_a_service_on_an_unmigrated_database_says_to_migrate_in_one_line(
    database_url: str, redis_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "HTTP_PORT": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "soroka", "evaluate"], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "soroka evaluate: database schema is behind (0001_initial pending): run `soroka db migrate`"
    )


def test_db_migrate_creates_a_missing_database_then_applies_the_schema(postgres_server_url: str) -> None:
    from urllib.parse import urlparse

    name = f"soroka_new_{os.getpid()}"
    url = urlparse(postgres_server_url)._replace(path=f"/{name}").geturl()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "soroka", "db", "migrate", "--database-url", url],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [
            f"created database {name}",
            "schema up to date: 1 applied now, 1 in total",
        ]
    finally:
        admin = urlparse(postgres_server_url)._replace(path="/postgres").geturl()
        subprocess.run(
            ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], capture_output=True, check=False
        )
