"""Metric names follow Prometheus conventions: `_total` counters, units in names, bounded snake_case labels.

Our own check always runs; `promtool check metrics` (Debian's `prometheus` package) runs too when it is
on PATH. Both are first shown to reject a registry that breaks the conventions.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from metric_catalog import SERVICES, MetricDoc, catalog, service_registry
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

NAME = re.compile(r"^soroka_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
LABEL = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Labels whose values grow with the market or the traffic: a series per symbol/event would never stop growing.
UNBOUNDED = {"symbol", "pair", "event_id", "trace_id", "span_id", "trade_id", "message_id", "chat_id", "id",
             "entry_id", "url", "path", "error", "detail", "open_time", "timestamp"}  # fmt: skip
# A word in the name -> the unit suffixes the name must end with (base units only).
UNITS = {
    "latency": ("_seconds",), "duration": ("_seconds",), "timestamp": ("_seconds",), "age": ("_seconds",),
    "wait": ("_seconds", "_waits"), "lag": ("_seconds", "_messages"), "pnl": ("_percent", "_usdt"),
    "equity": ("_usdt",), "balance": ("_usdt",),
}  # fmt: skip
NOT_BASE_UNITS = ("_milliseconds", "_ms", "_minutes", "_hours", "_kilobytes", "_megabytes", "_percentage")
RESERVED = ("_total", "_count", "_sum", "_bucket", "_created", "_info")


def naming_problems(docs: list[MetricDoc]) -> list[str]:
    problems: list[str] = []
    for d in docs:
        words = d.name.split("_")
        if not NAME.match(d.name):
            problems.append(f"{d.name}: not snake_case with the soroka_ prefix")
        if d.name.endswith(RESERVED):
            problems.append(f"{d.name}: ends with a suffix the client library or Prometheus reserves")
        if d.type == "counter" and not d.query_name.endswith("_total"):
            problems.append(f"{d.name}: counter not exposed with _total")
        if d.name.endswith(NOT_BASE_UNITS):
            problems.append(f"{d.name}: use base units (seconds, bytes, ratio or percent)")
        for word, units in UNITS.items():
            if word in words and not d.name.endswith(units):
                problems.append(f"{d.name}: a '{word}' metric must end with {' or '.join(units)}")
        if d.type == "histogram" and not d.name.endswith(
            ("_seconds", "_bytes", "_percent", "_usdt", "_ratio")
        ):
            problems.append(f"{d.name}: a histogram must name its unit")
        if not d.help.strip():
            problems.append(f"{d.name}: no help text")
        for label in d.labels:
            if not LABEL.match(label):
                problems.append(f"{d.name}: label {label!r} is not snake_case")
            if label in UNBOUNDED:
                problems.append(f"{d.name}: label {label!r} has unbounded values")
    return problems


def docs_of(*metrics: MetricWrapperBase) -> list[MetricDoc]:
    return [MetricDoc(m._name, m._type, tuple(m._labelnames), m._documentation, ("x",)) for m in metrics]


def bad_registry() -> tuple[CollectorRegistry, list[MetricDoc]]:
    registry = CollectorRegistry()
    metrics = (
        Gauge("soroka_queue_total", "A gauge named like a counter.", registry=registry),
        Histogram("soroka_signal_latency_milliseconds", "Not a base unit.", registry=registry),
        Counter("soroka_signalsBySymbol", "camelCase, per symbol.", ["symbol"], registry=registry),
    )
    metrics[2].labels("BTCUSDT").inc()
    return registry, docs_of(*metrics)


def test_the_naming_check_rejects_what_breaks_the_conventions() -> None:
    _, docs = bad_registry()
    problems = "\n".join(naming_problems(docs))
    assert "soroka_queue_total: ends with a suffix" in problems
    assert "soroka_signal_latency_milliseconds: use base units" in problems
    assert "soroka_signal_latency_milliseconds: a 'latency' metric must end with _seconds" in problems
    assert "soroka_signalsBySymbol: not snake_case" in problems
    assert "label 'symbol' has unbounded values" in problems


def test_every_service_metric_follows_the_naming_conventions() -> None:
    docs = catalog()
    assert len(docs) >= 40
    assert naming_problems(docs) == []


def test_the_configuration_info_labels_are_snake_case_keys() -> None:
    for service in SERVICES:
        [family] = [f for f in service_registry(service).collect() if f.name == "soroka_config"]
        for sample in family.samples:
            assert all(LABEL.match(k) for k in sample.labels), sample.labels


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)"
)


def promtool_check(text: bytes) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text.decode(), capture_output=True, text=True, timeout=30
    )


@needs_promtool
def test_promtool_rejects_what_breaks_the_conventions() -> None:
    registry, _ = bad_registry()
    result = promtool_check(generate_latest(registry))
    assert result.returncode != 0
    assert 'non-counter metrics should not have "_total" suffix' in result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_promtool_accepts_each_service_exposition(service: str) -> None:
    result = promtool_check(generate_latest(service_registry(service)))
    assert result.returncode == 0, result.stdout + result.stderr
