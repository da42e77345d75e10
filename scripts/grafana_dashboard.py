"""Write the Grafana dashboard (docs/grafana-dashboard.json and the chart's helm/soroka/dashboards/soroka.json).

Usage: python scripts/grafana_dashboard.py [--check]   (--check exits 1 when a file differs)

Every series is selected by `namespace` and `strategy`; both are target labels added at scrape time (the
chart's ServiceMonitor copies a Strategy's name, `app.kubernetes.io/instance`, into `strategy`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (ROOT / "docs" / "grafana-dashboard.json", ROOT / "helm" / "soroka" / "dashboards" / "soroka.json")
SEL = 'namespace=~"$namespace", strategy=~"$strategy"'
DS = {"type": "prometheus", "uid": "${datasource}"}
W = 8  # three panels per row of 24 columns


def q(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "expr": expr.replace("SEL", SEL), "legendFormat": legend, "datasource": DS}


def rate(metric: str, by: str, window: str = "5m", scale: str = "") -> str:
    return f"sum by ({by}) (rate({metric}{{SEL}}[{window}])){scale}"


def quantiles(metric: str, by: str = "", window: str = "5m") -> list[dict[str, Any]]:
    group = f"{by}, le" if by else "le"
    prefix = f"{{{{{by}}}}} " if by else ""
    return [
        q(
            f"histogram_quantile({p}, sum by ({group}) (rate({metric}_bucket{{SEL}}[{window}])))",
            f"{prefix}p{pct}",
            ref,
        )
        for p, pct, ref in ((0.5, 50, "A"), (0.95, 95, "B"), (0.99, 99, "C"))
    ]


# (section, title, unit, description, targets[, panel type])
PANELS: list[tuple[str, str, str, str, list[dict[str, Any]]] | tuple[str, str, str, str, list[dict[str, Any]], str]] = [
    ("Throughput", "Candles stored / min", "short", "Closed candles newly stored by the ingest.",
     [q(rate("soroka_ingest_candles_stored_total", "strategy", scale=" * 60"), "{{strategy}}")]),
    ("Throughput", "Stream messages processed / s", "ops", "Acknowledged messages per service and stream.",
     [q(rate("soroka_stream_messages_processed_total", "service, stream"), "{{service}} {{stream}}")]),
    ("Throughput", "Ingest cycle duration", "s", "One cycle: tickers, klines of the universe, store, publish.",
     quantiles("soroka_ingest_cycle_duration_seconds", window="15m")),
    ("Latency", "Candle close → signal", "s", "From the candle's close to the signal on the stream.",
     quantiles("soroka_analyze_signal_latency_seconds")),
    ("Latency", "Candle close → Telegram post", "s", "From the candle's close to the post in the channel.",
     quantiles("soroka_publish_signal_latency_seconds", window="15m")),
    ("Latency", "Message processing p95", "s", "Handling time of one stream message, per service.",
     [q("histogram_quantile(0.95, sum by (service, stream, le) "
        "(rate(soroka_stream_processing_seconds_bucket{SEL}[5m])))", "{{service}} {{stream}}")]),
    ("Lag", "Stream lag (not yet delivered)", "short", "Entries each consumer group has not read yet.",
     [q("max by (service, stream, group) (soroka_stream_lag_messages{SEL})", "{{group}} {{stream}}")]),
    ("Lag", "Pending (delivered, not acknowledged)", "short", "Entries read but not acknowledged.",
     [q("max by (service, stream, group) (soroka_stream_pending_messages{SEL})", "{{group}} {{stream}}")]),
    ("Lag", "Dead-lettered and reclaimed / h", "short", "Poison messages and work taken over from dead consumers.",
     [q(rate("soroka_stream_messages_dead_lettered_total", "service, stream, reason", "1h", " * 3600"),
        "dead {{service}} {{stream}} {{reason}}"),
      q(rate("soroka_stream_reclaimed_total", "service, stream", "1h", " * 3600"), "reclaimed {{service}} {{stream}}",
        "B")]),
    ("Lag", "Evaluation lag", "s", "From the last horizon's close to the final PnL report.",
     quantiles("soroka_evaluate_lag_seconds", window="1h")),
    ("Lag", "Signals awaiting evaluation", "short", "Signals whose horizons are not all known yet.",
     [q("max by (strategy) (soroka_evaluate_pending_signals{SEL})", "{{strategy}}")]),
    ("Lag", "Main loop heartbeat age", "s", "Seconds since each service's loop reported progress.",
     [q("max by (service) (soroka_loop_heartbeat_age_seconds{SEL})", "{{service}}")]),
    ("Binance budget", "Weight used this minute", "short", "X-MBX-USED-WEIGHT-1M as Binance reports it (limit 6000).",
     [q("max by (strategy) (soroka_binance_weight_used{SEL})", "{{strategy}} used"),
      q(rate("soroka_binance_weight_spent_total", "strategy", scale=" * 60"), "{{strategy}} spent / min", "B")]),
    ("Binance budget", "Throttling and Retry-After waits", "s", "Seconds per minute spent waiting.",
     [q(rate("soroka_binance_throttle_wait_seconds_total", "strategy", scale=" * 60"), "throttle {{strategy}}"),
      q(rate("soroka_binance_retry_after_wait_seconds_total", "strategy", scale=" * 60"), "retry-after {{strategy}}",
        "B"),
      q(rate("soroka_binance_throttle_waits_total", "strategy", scale=" * 60"), "throttle waits / min", "C")]),
    ("Binance budget", "Binance errors / min", "short", "Errors by kind (429, 418, 5xx, timeout, ...).",
     [q(rate("soroka_binance_errors_total", "kind", scale=" * 60"), "{{kind}}"),
      q(rate("soroka_binance_requests_total", "strategy", scale=" * 60"), "requests / min", "B")]),
    ("Signals", "Events / h by type", "short", "Break-of-Structure events detected.",
     [q(rate("soroka_analyze_events_total", "type", "1h", " * 3600"), "{{type}}")]),
    ("Signals", "Signals / h by type", "short", "Events that passed every filter and were published.",
     [q(rate("soroka_analyze_signals_total", "type", "1h", " * 3600"), "{{type}}")]),
    ("Signals", "Filter outcomes / h", "short", "Verdicts of each filter of the chain.",
     [q(rate("soroka_analyze_filter_outcomes_total", "filter, outcome", "1h", " * 3600"), "{{filter}} {{outcome}}"),
      q(rate("soroka_analyze_spacing_suppressed_total", "strategy", "1h", " * 3600"), "spacing suppressed", "B"),
      q(rate("soroka_analyze_duplicate_events_total", "strategy", "1h", " * 3600"), "redelivered duplicates", "C")]),
    ("Delivery health", "Telegram deliveries / h", "short", "Posts by kind and outcome (sent, retry, failed).",
     [q(rate("soroka_publish_deliveries_total", "kind, outcome", "1h", " * 3600"), "{{kind}} {{outcome}}"),
      q(rate("soroka_publish_stale_signals_total", "strategy", "1h", " * 3600"), "stale, not posted", "B")]),
    ("Delivery health", "Outbox queue depth", "short", "Deliveries waiting for the chat.",
     [q("max by (strategy) (soroka_publish_queue_depth{SEL})", "{{strategy}}")]),
    ("Delivery health", "Telegram retry_after waits", "s", "Seconds per hour waited on Telegram's 429.",
     [q(rate("soroka_publish_retry_after_wait_seconds_total", "strategy", "1h", " * 3600"), "seconds {{strategy}}"),
      q(rate("soroka_publish_retry_after_waits_total", "strategy", "1h", " * 3600"), "waits {{strategy}}", "B")]),
    ("Signal quality", "Median PnL % per horizon", "percent", "Gross PnL of signals, by minutes after the signal.",
     [q("histogram_quantile(0.5, sum by (horizon, le) (rate(soroka_evaluate_pnl_percent_bucket{SEL}[6h])))",
        "{{horizon}} min")]),
    ("Signal quality", "Hit rate per horizon", "percentunit", "Share of signals with PnL > 0 at each horizon.",
     [q('1 - sum by (horizon) (rate(soroka_evaluate_pnl_percent_bucket{SEL, le="0.0"}[6h])) '
        "/ sum by (horizon) (rate(soroka_evaluate_pnl_percent_count{SEL}[6h]))", "{{horizon}} min")]),
    ("Signal quality", "Reports and unavailable horizons / h", "short", "Evaluation output; unavailable = missing candle.",
     [q(rate("soroka_evaluate_reports_total", "final", "1h", " * 3600"), "reports final={{final}}"),
      q(rate("soroka_evaluate_unavailable_horizons_total", "horizon", "1h", " * 3600"), "unavailable {{horizon}} min",
        "B"),
      q(rate("soroka_evaluate_signals_tracked_total", "strategy", "1h", " * 3600"), "tracked", "C")]),
    ("Paper trading", "Paper equity", "currencyUSD", "Balance + open margins + unrealised PnL (USDT).",
     [q("max by (strategy) (soroka_trader_equity_usdt{SEL})", "equity {{strategy}}"),
      q("max by (strategy) (soroka_trader_balance_usdt{SEL})", "free balance {{strategy}}", "B"),
      q("max by (strategy) (soroka_trader_realised_pnl_usdt{SEL})", "realised PnL {{strategy}}", "C")]),
    ("Paper trading", "Paper trades", "short", "Open positions; decisions and exits per hour.",
     [q("max by (strategy) (soroka_trader_open_positions{SEL})", "open positions"),
      q(rate("soroka_trader_signals_total", "decision", "1h", " * 3600"), "signal {{decision}}", "B"),
      q(rate("soroka_trader_trades_closed_total", "reason", "1h", " * 3600"), "closed {{reason}}", "C")]),
    ("Configuration", "Configuration reloads", "short", "Env file changes by outcome (rejected = invalid, kept old).",
     [q("sum by (service, outcome) (increase(soroka_config_reloads_total{SEL}[1h]))", "{{service}} {{outcome}}")]),
    ("Configuration", "Configuration in force", "short", "The hot strategy keys each service applies now.",
     [{**q("soroka_config_info{SEL}"), "format": "table", "instant": True}], "table"),
    ("Configuration", "Build", "short", "Version of the running build, per pod.",
     [{**q("count by (version, pod) (soroka_build_info{SEL})"), "format": "table", "instant": True}], "table"),
]  # fmt: skip


def panel(i: int, spec: tuple[Any, ...]) -> dict[str, Any]:
    section, title, unit, description, targets = spec[:5]
    kind = spec[5] if len(spec) > 5 else "timeseries"
    return {
        "id": i + 1,
        "type": kind,
        "title": f"{section} · {title}",
        "description": description,
        "datasource": DS,
        "gridPos": {"h": 8, "w": W, "x": (i % 3) * W, "y": (i // 3) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": targets,
    }


def variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name, "label": label, "type": "query", "datasource": DS, "query": query,
        "definition": query, "includeAll": True, "multi": True, "refresh": 2, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }  # fmt: skip


def dashboard() -> dict[str, Any]:
    return {
        "title": "Soroka",
        "uid": "soroka",
        "description": "The Soroka pipeline: throughput, latency, lag, Binance budget, signals, delivery, quality.",
        "schemaVersion": 39,
        "version": 2,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "tags": ["soroka"],
        "templating": {
            "list": [
                {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
                variable("namespace", "Namespace", "label_values(soroka_build_info, namespace)"),
                variable(
                    "strategy",
                    "Strategy",
                    'label_values(soroka_build_info{namespace=~"$namespace"}, strategy)',
                ),
            ]
        },
        "panels": [panel(i, spec) for i, spec in enumerate(PANELS)],
    }


def main(argv: list[str]) -> int:
    text = json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"
    stale = [p for p in TARGETS if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run scripts/grafana_dashboard.py")
        return 1 if stale else 0
    for p in stale:
        p.write_text(text)
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
