"""Editing a service's `.env` applies strategy keys at once, rejects bad values and defers restart-only keys."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from soroka.core.configuring import load_settings
from soroka.core.settings import AnalyzeSettings
from soroka.observability.metrics import ServiceMetrics, new_registry
from soroka.service.reloading import SettingsReloader

BASE = "LOOKBACK=3\nMIN_CANDLES=5\nINTERVAL=1m\nREDIS_URL=redis://127.0.0.1:6379/0\n"


def reloads(registry: CollectorRegistry, outcome: str) -> float | None:
    return registry.get_sample_value(
        "soroka_config_reloads_total", {"service": "analyze", "outcome": outcome}
    )


def config_info(registry: CollectorRegistry) -> dict[str, str]:
    [family] = [f for f in registry.collect() if f.name == "soroka_config"]
    return dict(family.samples[0].labels)


class Harness:
    def __init__(self, tmp_path: Path, environ: dict[str, str] | None = None) -> None:
        self.env_file = tmp_path / "analyze.env"
        self.env_file.write_text(BASE)
        self.environ = environ or {}
        self.registry = new_registry(process=False)
        self.seen: list[AnalyzeSettings] = []
        initial = load_settings(AnalyzeSettings, self.env_file, self.environ)
        self.reloader = SettingsReloader(
            AnalyzeSettings,
            self.env_file,
            initial,
            self.seen.append,
            metrics=ServiceMetrics(self.registry, "analyze"),
            environ=self.environ,
        )

    def edit(self, old: str, new: str) -> None:
        self.env_file.write_text(self.env_file.read_text().replace(old, new))


async def test_a_hot_key_change_is_applied_in_one_check(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    assert config_info(h.registry)["lookback"] == "3"
    h.edit("LOOKBACK=3", "LOOKBACK=5")
    applied = await h.reloader.check_once()
    assert applied.lookback == 5
    assert h.reloader.current is applied
    assert [s.lookback for s in h.seen] == [5]
    assert reloads(h.registry, "applied") == 1
    assert config_info(h.registry)["lookback"] == "5"


async def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    before = h.env_file.stat()
    h.edit("LOOKBACK=3", "LOOKBACK=5")  # same size; a coarse clock can give the same mtime
    os.utime(h.env_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (await h.reloader.check_once()).lookback == 5


async def test_an_unchanged_file_does_not_reload(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    before = h.reloader.current
    assert await h.reloader.check_once() is before
    h.env_file.write_text(BASE)  # rewritten with the same content
    assert await h.reloader.check_once() is before
    h.env_file.write_text(BASE + "# a comment\n")  # new content, same values
    assert await h.reloader.check_once() is before
    assert h.seen == []
    assert reloads(h.registry, "applied") == 0
    assert reloads(h.registry, "unchanged") == 1


async def test_an_invalid_value_is_rejected_and_the_old_settings_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    before = h.reloader.current
    h.edit("LOOKBACK=3", "LOOKBACK=0")
    with caplog.at_level(logging.WARNING):
        assert await h.reloader.check_once() is before
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "LOOKBACK='0' is invalid" in error.getMessage()
    assert "keeping the current settings" in error.getMessage()
    assert h.seen == []
    assert reloads(h.registry, "rejected") == 1
    assert config_info(h.registry)["lookback"] == "3"

    h.edit("LOOKBACK=0", "LOOKBACK=6")  # fixed: the next check applies it
    assert (await h.reloader.check_once()).lookback == 6


async def test_a_restart_only_key_is_not_applied_but_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(tmp_path)
    h.edit("INTERVAL=1m", "INTERVAL=5m")
    h.edit("MIN_CANDLES=5", "MIN_CANDLES=8")
    with caplog.at_level(logging.WARNING):
        applied = await h.reloader.check_once()
    assert applied.interval == "1m"
    assert applied.min_candles == 8
    assert any(r.getMessage() == "INTERVAL changed: restart needed to apply it" for r in caplog.records)

    h.edit("MIN_CANDLES=8", "MIN_CANDLES=9\n# only the interval differs now")
    h.edit("MIN_CANDLES=9", "MIN_CANDLES=8")
    assert (await h.reloader.check_once()).interval == "1m"
    assert reloads(h.registry, "unchanged") == 1


async def test_the_environment_still_overrides_the_file(tmp_path: Path) -> None:
    h = Harness(tmp_path, environ={"LOOKBACK": "7"})
    assert h.reloader.current.lookback == 7
    h.edit("LOOKBACK=3", "LOOKBACK=4")
    h.edit("MIN_CANDLES=5", "MIN_CANDLES=10")
    applied = await h.reloader.check_once()
    assert (applied.lookback, applied.min_candles) == (7, 10)


async def test_an_async_callback_that_fails_keeps_the_old_settings(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    calls: list[int] = []

    async def refuse(new: AnalyzeSettings) -> None:
        calls.append(new.lookback)
        raise RuntimeError("cannot apply")

    h.reloader.on_change = refuse
    h.edit("LOOKBACK=3", "LOOKBACK=5")
    assert (await h.reloader.check_once()).lookback == 3
    assert calls == [5]
    assert reloads(h.registry, "rejected") == 1


async def test_run_polls_until_stopped(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    applied = asyncio.Event()
    h.reloader.on_change = lambda new: applied.set()
    h.reloader.interval = 0.02
    stop = asyncio.Event()
    task = asyncio.create_task(h.reloader.run(stop))
    await asyncio.sleep(0.05)  # a few idle polls first
    h.edit("LOOKBACK=3", "LOOKBACK=9")
    await asyncio.wait_for(applied.wait(), 2)
    assert h.reloader.current.lookback == 9
    stop.set()
    await asyncio.wait_for(task, 1)
