"""The Grafana dashboard only queries metrics (and labels) the services export, and shows every pipeline area."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from metric_catalog import catalog, exported_sample_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
CHART_COPY = ROOT / "helm" / "soroka" / "dashboards" / "soroka.json"
# Labels Prometheus adds at scrape time (the chart's ServiceMonitor adds `strategy`).
TARGET_LABELS = {"namespace", "strategy", "pod", "instance", "job"}
FUNCTIONS = {"rate", "irate", "increase", "sum", "max", "min", "avg", "count", "histogram_quantile",
             "label_values", "clamp_min", "topk", "delta", "deriv", "abs", "time", "vector", "scalar"}  # fmt: skip
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


def queries(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    exprs += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def parse(expr: str) -> tuple[set[str], set[str], set[str]]:
    """(metric names, label names, function names) an expression uses."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals say nothing about names
    text = re.sub(r"\[[^\]]*\]", "", text)  # range durations
    labels: set[str] = set()
    for body in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text):
        labels |= {x.strip() for x in body.split(",") if x.strip()}
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    for body in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body))
    text = re.sub(r"\{[^}]*\}", " ", text)
    metrics: set[str] = set()
    functions: set[str] = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = m.group(1), m.group(2)
        if call:
            functions.add(name)
        elif name not in KEYWORDS:
            metrics.add(name)
    if "label_values" in functions:  # label_values(metric, label): the last argument is a label
        metrics -= {labels_arg := expr.rstrip(") ").rsplit(",", 1)[-1].strip()}
        labels.add(labels_arg)
    return metrics, labels, functions


def problems(board: dict[str, Any]) -> list[str]:
    exported = exported_sample_names()
    labels_of: dict[str, set[str]] = {}
    for doc in catalog():
        for name in doc.sample_names():
            labels_of[name] = set(doc.labels) | ({"le"} if name.endswith("_bucket") else set())
    found: list[str] = []
    for expr in queries(board):
        metrics, labels, functions = parse(expr)
        if not metrics:
            found.append(f"no metric in {expr!r}")
        found += [f"unknown metric {m} in {expr!r}" for m in sorted(metrics - exported)]
        found += [f"unknown function {f} in {expr!r}" for f in sorted(functions - FUNCTIONS)]
        allowed = TARGET_LABELS.union(*(labels_of.get(m, set()) for m in metrics))
        found += [f"label {lb} not on {sorted(metrics)} in {expr!r}" for lb in sorted(labels - allowed)]
    return found


def test_every_dashboard_query_uses_only_exported_metrics_and_their_labels() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert problems(board) == []


def test_the_check_flags_unknown_metrics_and_labels() -> None:
    board = {
        "panels": [
            {"targets": [{"expr": 'sum by (symbol) (rate(soroka_signals_sent_total{namespace="x"}[5m]))'}]}
        ],
        "templating": {"list": [{"type": "query", "query": "label_values(soroka_build_info, color)"}]},
    }
    found = "\n".join(problems(board))
    assert "unknown metric soroka_signals_sent_total" in found
    assert "label symbol not on" in found
    assert "label color not on ['soroka_build_info']" in found


def test_the_dashboard_shows_every_part_of_the_pipeline() -> None:
    board = json.loads(DASHBOARD.read_text())
    used = set().union(*(parse(e)[0] for e in queries(board)))
    wanted = {
        "soroka_ingest_candles_stored_total", "soroka_stream_messages_processed_total",  # throughput
        "soroka_analyze_signal_latency_seconds_bucket", "soroka_publish_signal_latency_seconds_bucket",  # latency
        "soroka_stream_lag_messages", "soroka_stream_pending_messages", "soroka_evaluate_lag_seconds_bucket",  # lag
        "soroka_binance_weight_used", "soroka_binance_throttle_wait_seconds_total", "soroka_binance_errors_total",
        "soroka_analyze_signals_total", "soroka_analyze_events_total", "soroka_analyze_filter_outcomes_total",
        "soroka_publish_deliveries_total", "soroka_publish_queue_depth",  # delivery health
        "soroka_evaluate_pnl_percent_bucket", "soroka_evaluate_pnl_percent_count",  # quality per horizon
        "soroka_trader_equity_usdt", "soroka_config_reloads_total", "soroka_config_info",
    }  # fmt: skip
    assert wanted <= used, sorted(wanted - used)
    assert any("by (horizon" in e for e in queries(board))
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and all(p["targets"] for p in board["panels"])


def test_the_chart_ships_the_same_dashboard_the_generator_writes() -> None:
    assert CHART_COPY.read_text() == DASHBOARD.read_text()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grafana_dashboard.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
