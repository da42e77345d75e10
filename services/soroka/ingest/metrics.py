"""Prometheus metrics of the ingest service (cycle timing, candles, Binance budget and errors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from soroka.binance.http import BinanceStats
from soroka.ingest.cycling import CycleResult


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.candles_stored = Counter(
            "soroka_ingest_candles_stored", "Closed candles newly stored.", registry=registry
        )
        self.messages_published = Counter(
            "soroka_ingest_messages_published",
            "Candles messages published (one per symbol-minute).",
            registry=registry,
        )
        self.gap_candles = Counter(
            "soroka_ingest_backfilled_candles",
            "Candles fetched to heal gaps (missed minutes).",
            registry=registry,
        )
        self.symbols_failed = Counter(
            "soroka_ingest_symbol_failures",
            "Symbol fetches that failed in a cycle (retried next cycle).",
            registry=registry,
        )
        self.cycles = Counter(
            "soroka_ingest_cycles", "Ingest cycles by outcome.", ["outcome"], registry=registry
        )
        self.cycle_seconds = Histogram(
            "soroka_ingest_cycle_duration_seconds",
            "Duration of one ingest cycle.",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0),
            registry=registry,
        )
        self.universe = Gauge(
            "soroka_ingest_universe_symbols", "Symbols in the scanned universe.", registry=registry
        )
        self.last_cycle = Gauge(
            "soroka_ingest_last_success_timestamp_seconds",
            "Wall time of the last successful cycle.",
            registry=registry,
        )
        self.weight_used = Gauge(
            "soroka_binance_weight_used",
            "Request weight used in the current minute (X-MBX-USED-WEIGHT-1M).",
            registry=registry,
        )
        self.weight_spent = Counter(
            "soroka_binance_weight_spent", "Request weight spent in total.", registry=registry
        )
        self.requests = Counter("soroka_binance_requests", "Requests sent to Binance.", registry=registry)
        self.throttle_waits = Counter(
            "soroka_binance_throttle_waits", "Waits for the weight budget's next minute.", registry=registry
        )
        self.throttle_seconds = Counter(
            "soroka_binance_throttle_wait_seconds", "Seconds waited for the weight budget.", registry=registry
        )
        self.retry_after_seconds = Counter(
            "soroka_binance_retry_after_wait_seconds",
            "Seconds waited on 429/418 Retry-After.",
            registry=registry,
        )
        self.errors = Counter("soroka_binance_errors", "Binance errors by kind.", ["kind"], registry=registry)
        self._seen = BinanceStats()

    def observe_cycle(self, result: CycleResult) -> None:
        self.candles_stored.inc(result.candles_stored)
        self.messages_published.inc(result.messages_published)
        self.gap_candles.inc(result.gaps_backfilled)
        self.symbols_failed.inc(result.symbols_failed)
        self.cycle_seconds.observe(result.duration_s)
        self.universe.set(result.universe)

    def observe_binance(self, stats: BinanceStats) -> None:
        """Export the client's counters as deltas since the last call."""
        seen = self._seen
        self.weight_used.set(stats.weight_used)
        self.weight_spent.inc(stats.weight_spent - seen.weight_spent)
        self.requests.inc(stats.requests - seen.requests)
        self.throttle_waits.inc(stats.throttle_waits - seen.throttle_waits)
        self.throttle_seconds.inc(stats.throttle_wait_seconds - seen.throttle_wait_seconds)
        self.retry_after_seconds.inc(stats.retry_after_seconds - seen.retry_after_seconds)
        for kind, n in stats.errors.items():
            self.errors.labels(kind).inc(n - seen.errors.get(kind, 0))
        self._seen = BinanceStats(
            requests=stats.requests,
            weight_used=stats.weight_used,
            weight_spent=stats.weight_spent,
            throttle_waits=stats.throttle_waits,
            throttle_wait_seconds=stats.throttle_wait_seconds,
            retry_after_waits=stats.retry_after_waits,
            retry_after_seconds=stats.retry_after_seconds,
            retries=stats.retries,
            errors=dict(stats.errors),
        )
