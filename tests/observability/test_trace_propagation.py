"""A trace continues across services through the `traceparent` string a stream message carries."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soroka.core.settings import ConfigError
from soroka.observability.tracing import Tracing, otlp_traces_endpoint


def test_a_traceparent_carried_between_two_services_continues_the_trace() -> None:
    exporter = InMemorySpanExporter()
    analyze = Tracing.from_env("analyze", "alpha", exporter=exporter)
    publish = Tracing.from_env("publish", "alpha", exporter=exporter)

    with analyze.start_span("analyze.candles", symbol="BTCUSDT", attributes={"stream": "candles"}):
        traceparent = analyze.current_traceparent()
    assert traceparent is not None
    with publish.start_span("publish.signal", traceparent, event_id="ev-1"):
        pass
    analyze.shutdown()
    publish.shutdown()

    first, second = exporter.get_finished_spans()
    assert first.context is not None and second.context is not None
    assert second.context.trace_id == first.context.trace_id
    assert second.parent is not None and second.parent.span_id == first.context.span_id
    assert second.parent.is_remote
    assert first.resource.attributes["service.name"] == "soroka-analyze"
    assert second.resource.attributes["service.name"] == "soroka-publish"
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["soroka.strategy"] == "alpha"
    assert first.attributes["soroka.symbol"] == "BTCUSDT"
    assert first.attributes["soroka.stream"] == "candles"
    assert second.attributes["soroka.event_id"] == "ev-1"
    assert traceparent.startswith(f"00-{first.context.trace_id:032x}-{first.context.span_id:016x}-")


def test_without_a_usable_traceparent_a_span_starts_a_new_trace() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.from_env("analyze", "alpha", exporter=exporter)
    with tracing.start_span("one"):
        pass
    with tracing.start_span("two", "not-a-traceparent"):
        pass
    tracing.shutdown()
    one, two = exporter.get_finished_spans()
    assert one.parent is None and two.parent is None
    assert one.context is not None and two.context is not None
    assert one.context.trace_id != two.context.trace_id


def test_tracing_is_off_unless_the_environment_asks_for_it() -> None:
    tracing = Tracing.from_env("analyze", "alpha", environ={})
    assert not tracing.enabled
    with tracing.start_span("x", "00-" + "1" * 32 + "-" + "2" * 16 + "-01", symbol="BTCUSDT") as span:
        assert not span.is_recording()
        assert tracing.current_traceparent() is None
    tracing.shutdown()

    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    assert not Tracing.from_env("analyze", "alpha", environ=disabled).enabled
    assert not Tracing.from_env("analyze", "alpha", environ={"OTEL_TRACES_EXPORTER": "none"}).enabled


def test_standard_variables_turn_otlp_export_on_and_name_the_service() -> None:
    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "custom-name"}
    tracing = Tracing.from_env("analyze", "alpha", environ=env)
    assert tracing.enabled and tracing.provider is not None
    assert tracing.provider.resource.attributes["service.name"] == "custom-name"
    tracing.shutdown()
    by_endpoint = Tracing.from_env(
        "ingest", "alpha", environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    )
    assert by_endpoint.provider is not None
    assert by_endpoint.provider.resource.attributes["service.name"] == "soroka-ingest"
    by_endpoint.shutdown()


def test_endpoint_resolution_follows_the_otlp_http_convention() -> None:
    assert otlp_traces_endpoint({}) is None
    assert (
        otlp_traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == "http://c:4318/v1/traces"
    )
    both = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x",
    }
    assert otlp_traces_endpoint(both) == "http://t/x"


def test_an_unknown_exporter_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        Tracing.from_env("analyze", "alpha", environ={"OTEL_TRACES_EXPORTER": "zipkin"})
