"""Traces across the stream hops: a span per message, continued from the W3C `traceparent` it carries.

Tracing is off unless the standard OTEL_* variables ask for it (or a test passes an exporter). Each
`Tracing` owns its TracerProvider; the global provider is never set, so several can live in one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from soroka.core.settings import ConfigError
from soroka.observability.logs import log_context

_PROPAGATOR = TraceContextTextMapPropagator()
_EXPORTERS = ("otlp", "none")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def otlp_traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL the standard variables name, or None when they name none."""
    if endpoint := environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        return endpoint
    if endpoint := environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        return endpoint.rstrip("/") + "/v1/traces"
    return None


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces; an unknown OTEL_TRACES_EXPORTER is a configuration error."""
    if _truthy(environ.get("OTEL_SDK_DISABLED")):
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter and exporter not in _EXPORTERS:
        raise ConfigError(f"OTEL_TRACES_EXPORTER={exporter!r} is invalid (allowed: {', '.join(_EXPORTERS)})")
    if exporter == "none":
        return False
    return exporter == "otlp" or otlp_traces_endpoint(environ) is not None


def configure_tracing(
    service: str,
    strategy: str,
    exporter: SpanExporter | None = None,
    environ: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """A provider exporting this service's spans, or None when tracing is off. Does not touch globals."""
    env = os.environ if environ is None else environ
    if exporter is None and not tracing_requested(env):
        return None
    resource = Resource.create(
        {
            SERVICE_NAME: env.get("OTEL_SERVICE_NAME", "").strip() or f"soroka-{service}",
            "service.namespace": "soroka",
            "soroka.strategy": strategy,
        }
    )
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_endpoint(env))))
    return provider


class Tracing:
    """One service's tracer: spans per message, `traceparent` strings in and out."""

    def __init__(self, provider: TracerProvider | None, strategy: str) -> None:
        self.provider = provider
        self.strategy = strategy
        self.tracer: trace.Tracer = (
            provider.get_tracer("soroka") if provider is not None else trace.NoOpTracer()
        )

    @classmethod
    def from_env(
        cls,
        service: str,
        strategy: str,
        exporter: SpanExporter | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Tracing:
        return cls(configure_tracing(service, strategy, exporter, environ), strategy)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    @contextmanager
    def start_span(
        self,
        name: str,
        traceparent: str | None = None,
        attributes: Mapping[str, AttributeValue | None] | None = None,
        *,
        symbol: str | None = None,
        event_id: str | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    ) -> Iterator[trace.Span]:
        """A current span continuing `traceparent` (a message's), else the current context (a new trace if none).

        Bare attribute keys are namespaced (`symbol` -> `soroka.symbol`). Inside, log lines carry the
        trace ids and, when given, the symbol and event id.
        """
        if self.provider is None:
            yield trace.INVALID_SPAN
            return
        attrs: dict[str, AttributeValue] = {"soroka.strategy": self.strategy}
        for key, value in (attributes or {}).items():
            if value is not None:
                attrs[key if "." in key else f"soroka.{key}"] = value
        if symbol is not None:
            attrs["soroka.symbol"] = symbol
        if event_id is not None:
            attrs["soroka.event_id"] = event_id
        parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
        fields: dict[str, Any] = {
            field: attrs[f"soroka.{field}"] for field in ("symbol", "event_id") if f"soroka.{field}" in attrs
        }
        with ExitStack() as stack:
            if fields:
                stack.enter_context(log_context(**fields))
            span = stack.enter_context(
                self.tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attrs)
            )
            yield span

    def current_traceparent(self) -> str | None:
        """The W3C `traceparent` of the current span, to put into an outgoing message; None when off."""
        if self.provider is None:
            return None
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier.get("traceparent")

    def shutdown(self) -> None:
        """Flush and stop exporting (call once at exit)."""
        if self.provider is not None:
            self.provider.shutdown()
