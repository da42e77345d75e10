"""The shared metrics carry bounded labels, fixed reasons and the hot configuration in force."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from soroka.core.configuring import load_settings
from soroka.core.settings import AnalyzeSettings
from soroka.observability.health import Heartbeat
from soroka.observability.metrics import ServiceMetrics, new_registry


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_reload_outcomes_start_at_zero_and_count_up() -> None:
    registry = new_registry(process=False)
    metrics = ServiceMetrics(registry, "analyze")
    for outcome in ("applied", "rejected", "unchanged"):
        assert value(registry, "soroka_config_reloads_total", service="analyze", outcome=outcome) == 0
    metrics.config_reloaded("rejected")
    assert value(registry, "soroka_config_reloads_total", service="analyze", outcome="rejected") == 1
    with pytest.raises(ValueError):
        metrics.config_reloaded("exploded")


def test_dead_letter_reasons_are_a_fixed_set() -> None:
    registry = new_registry(process=False)
    metrics = ServiceMetrics(registry, "publish")
    metrics.dead_lettered("signals", "decode")
    metrics.dead_lettered("signals", "attempts")
    metrics.dead_lettered("signals", "attempts")
    name = "soroka_stream_messages_dead_lettered_total"
    assert value(registry, name, service="publish", stream="signals", reason="attempts") == 2
    with pytest.raises(ValueError):
        metrics.dead_lettered("signals", "BTCUSDT broke")


def test_config_info_holds_only_the_hot_keys_as_strings() -> None:
    registry = new_registry(process=False)
    metrics = ServiceMetrics(registry, "analyze")
    metrics.set_config(load_settings(AnalyzeSettings, environ={"LOOKBACK": "4"}))
    [family] = [f for f in registry.collect() if f.name == "soroka_config"]
    [sample] = family.samples
    assert sample.labels["lookback"] == "4"
    assert sample.labels["event_filter_type"] == "BOS_UP"
    assert "redis_url" not in sample.labels  # restart-only keys are not "in force by reload"
    assert "interval" not in sample.labels


def test_backlog_gauges_and_an_unknown_lag_is_not_exported_as_zero() -> None:
    registry = new_registry(process=False)
    metrics = ServiceMetrics(registry, "analyze")
    metrics.set_backlog("candles", "analyze", lag=None, pending=4)
    labels = {"service": "analyze", "stream": "candles", "group": "analyze"}
    assert value(registry, "soroka_stream_pending_messages", **labels) == 4
    assert value(registry, "soroka_stream_lag_messages", **labels) is None
    metrics.set_backlog("candles", "analyze", lag=12, pending=0)
    assert value(registry, "soroka_stream_lag_messages", **labels) == 12


def test_heartbeat_age_is_read_at_scrape_time() -> None:
    now = [100.0]
    heartbeat = Heartbeat(lambda: now[0])
    registry = new_registry(process=False)
    ServiceMetrics(registry, "ingest").watch_heartbeat(heartbeat.age)
    now[0] = 107.5
    assert value(registry, "soroka_loop_heartbeat_age_seconds", service="ingest") == 7.5


def test_two_services_in_one_process_use_separate_registries() -> None:
    first, second = new_registry(), new_registry()
    ServiceMetrics(first, "analyze").processed("candles")
    ServiceMetrics(second, "publish")
    assert value(first, "soroka_stream_messages_processed_total", service="analyze", stream="candles") == 1
    assert (
        value(second, "soroka_stream_messages_processed_total", service="analyze", stream="candles") is None
    )
