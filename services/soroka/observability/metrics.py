"""Prometheus metrics every service shares: configuration, build, stream consumption and loop liveness.

Label sets stay bounded: `stream` is the logical stream name (candles, signals), never a symbol.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from pydantic import BaseModel

from soroka.core.configuring import masked_dump
from soroka.core.settings import is_hot


class ReloadOutcome(enum.StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"
    UNCHANGED = "unchanged"


class DeadLetterReason(enum.StrEnum):
    DECODE = "decode"  # the message could not be parsed
    PERMANENT = "permanent"  # the handler raised a permanent error
    ATTEMPTS = "attempts"  # delivered too many times without success


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """A fresh registry (one per service instance), with the process/GC/platform collectors."""
    registry = CollectorRegistry()
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def build_version() -> str:
    try:
        return metadata.version("soroka")
    except metadata.PackageNotFoundError:
        return "unknown"


def hot_config(settings: BaseModel) -> dict[str, str]:
    """The hot (reloadable) keys in force, as strings, by field name (valid Prometheus label names)."""
    dump = masked_dump(settings)
    return {
        name: str(dump[name.upper()]) for name in type(settings).model_fields if is_hot(type(settings), name)
    }


class ServiceMetrics:
    """The metrics every service exports, registered on `registry` under one `service` label."""

    def __init__(self, registry: CollectorRegistry, service: str, *, version: str | None = None) -> None:
        self.registry = registry
        self.service = service
        self.config_reloads = Counter(
            "soroka_config_reloads",
            "Configuration file changes seen, by outcome (applied, rejected, unchanged).",
            ["service", "outcome"],
            registry=registry,
        )
        for outcome in ReloadOutcome:
            self.config_reloads.labels(service, outcome.value)
        self.config_info = Info(
            "soroka_config",
            "The hot strategy keys in force (updated on reload).",
            ["service"],
            registry=registry,
        )
        self.build_info = Info("soroka_build", "Version of the running soroka build.", registry=registry)
        self.build_info.info({"version": version or build_version()})
        self.stream_messages_processed = Counter(
            "soroka_stream_messages_processed",
            "Stream messages handled and acknowledged.",
            ["service", "stream"],
            registry=registry,
        )
        self.stream_messages_dead_lettered = Counter(
            "soroka_stream_messages_dead_lettered",
            "Stream messages moved to the dead-letter stream, by reason (decode, permanent, attempts).",
            ["service", "stream", "reason"],
            registry=registry,
        )
        self.stream_reclaimed = Counter(
            "soroka_stream_reclaimed",
            "Pending messages of idle consumers claimed by this one.",
            ["service", "stream"],
            registry=registry,
        )
        self.stream_processing_seconds = Histogram(
            "soroka_stream_processing_seconds",
            "Time to handle one stream message.",
            ["service", "stream"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.stream_lag_messages = Gauge(
            "soroka_stream_lag_messages",
            "Entries in the stream not yet delivered to the consumer group.",
            ["service", "stream", "group"],
            registry=registry,
        )
        self.stream_pending_messages = Gauge(
            "soroka_stream_pending_messages",
            "Entries delivered to the group but not yet acknowledged.",
            ["service", "stream", "group"],
            registry=registry,
        )
        self.loop_heartbeat_age_seconds = Gauge(
            "soroka_loop_heartbeat_age_seconds",
            "Seconds since the service's main loop last reported progress.",
            ["service"],
            registry=registry,
        )

    def config_reloaded(self, outcome: ReloadOutcome | str) -> None:
        self.config_reloads.labels(self.service, ReloadOutcome(outcome).value).inc()

    def set_config(self, settings: BaseModel) -> None:
        self.config_info.labels(self.service).info(hot_config(settings))

    def processed(self, stream: str, count: int = 1) -> None:
        self.stream_messages_processed.labels(self.service, stream).inc(count)

    def dead_lettered(self, stream: str, reason: DeadLetterReason | str) -> None:
        self.stream_messages_dead_lettered.labels(self.service, stream, DeadLetterReason(reason).value).inc()

    def reclaimed(self, stream: str, count: int = 1) -> None:
        self.stream_reclaimed.labels(self.service, stream).inc(count)

    def set_backlog(self, stream: str, group: str, *, lag: int | None, pending: int) -> None:
        """Lag may be unknown (Redis reports nil after trimming); an unknown lag is not exported as 0."""
        if lag is not None:
            self.stream_lag_messages.labels(self.service, stream, group).set(lag)
        self.stream_pending_messages.labels(self.service, stream, group).set(pending)

    def watch_heartbeat(self, age: Callable[[], float]) -> None:
        """Report the loop's heartbeat age at scrape time (e.g. `Heartbeat.age`)."""
        self.loop_heartbeat_age_seconds.labels(self.service).set_function(age)
