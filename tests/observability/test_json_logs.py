"""Log lines are JSON with service, strategy and context ids; repeats are rate limited; secrets never appear."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soroka.core.configuring import load_settings
from soroka.core.settings import PublishSettings
from soroka.observability.logs import JsonLinesHandler, configure_logging, log_context, log_effective_config
from soroka.observability.tracing import Tracing


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    buf = io.StringIO()
    yield buf
    for handler in [h for h in root.handlers if isinstance(h, JsonLinesHandler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_the_core_fields(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    logging.getLogger("soroka.analyze").info("processed %d candles", 3, extra={"stream": "candles"})
    [line] = lines(stream)
    assert line["level"] == "INFO"
    assert (line["service"], line["strategy"], line["logger"]) == ("analyze", "alpha", "soroka.analyze")
    assert line["msg"] == "processed 3 candles"
    assert line["stream"] == "candles"
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() == timedelta(0)
    assert "symbol" not in line and "trace_id" not in line


def test_log_context_fields_appear_inside_and_vanish_outside(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    log = logging.getLogger("t")
    with log_context(symbol="BTCUSDT", event_id="ev-1"):
        log.info("inside")
        with log_context(event_id="ev-2"):
            log.info("nested")
    log.info("outside")
    inside, nested, outside = lines(stream)
    assert (inside["symbol"], inside["event_id"]) == ("BTCUSDT", "ev-1")
    assert (nested["symbol"], nested["event_id"]) == ("BTCUSDT", "ev-2")
    assert "symbol" not in outside and "event_id" not in outside


async def test_log_context_follows_awaits_and_does_not_leak_between_tasks(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    log = logging.getLogger("t")

    async def handle(symbol: str) -> None:
        with log_context(symbol=symbol):
            await asyncio.sleep(0.01)
            log.info("handled")

    await asyncio.gather(handle("BTCUSDT"), handle("ETHUSDT"))
    assert sorted(line["symbol"] for line in lines(stream)) == ["BTCUSDT", "ETHUSDT"]


def test_exceptions_are_logged_with_their_traceback(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("t").exception("failed")
    [line] = lines(stream)
    assert line["level"] == "ERROR"
    assert "ZeroDivisionError" in line["exc"]


def test_configuring_twice_does_not_duplicate_lines(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    configure_logging("analyze", "alpha", stream=stream)
    logging.getLogger("t").warning("once")
    assert len(lines(stream)) == 1
    assert sum(isinstance(h, JsonLinesHandler) for h in logging.getLogger().handlers) == 1


def test_repeated_warnings_pass_once_per_interval_and_report_the_suppressed(stream: io.StringIO) -> None:
    clock = FakeClock()
    configure_logging("ingest", "alpha", stream=stream, clock=clock)
    log = logging.getLogger("soroka.binance")
    for n in range(5):
        log.warning("request to %s failed", f"host{n}")
        log.info("progress %d", n)  # below WARNING: never limited
    log.warning("a different template")
    clock.now += 59.0
    log.warning("request to %s failed", "late")
    clock.now += 1.5
    log.warning("request to %s failed", "after")
    log.warning("request to %s failed", "again")

    warnings = [line for line in lines(stream) if line["level"] == "WARNING"]
    assert [w["msg"] for w in warnings] == [
        "request to host0 failed",
        "a different template",
        "request to after failed",
    ]
    assert "suppressed" not in warnings[0]
    assert warnings[2]["suppressed"] == 5
    assert sum(line["level"] == "INFO" for line in lines(stream)) == 5


def test_effective_config_is_logged_with_secrets_masked(stream: io.StringIO) -> None:
    configure_logging("publish", "alpha", stream=stream)
    settings = load_settings(
        PublishSettings,
        environ={
            "TELEGRAM_BOT_TOKEN": "123456:SECRET-TOKEN-VALUE",
            "DATABASE_URL": "postgresql://soroka:db-password@pg:5432/soroka",
            "LOOKBACK": "4",
        },
    )
    log_effective_config(logging.getLogger("soroka.publish"), settings)
    text = stream.getvalue()
    assert "SECRET-TOKEN-VALUE" not in text
    assert "db-password" not in text
    [line] = lines(stream)
    assert line["config"]["TELEGRAM_BOT_TOKEN"] == "**********"
    assert line["config"]["DATABASE_URL"] == "postgresql://soroka:****@pg:5432/soroka"
    assert line["config"]["MAX_SIGNAL_AGE"] == 60


def test_lines_inside_a_span_carry_its_trace_and_span_ids(stream: io.StringIO) -> None:
    configure_logging("analyze", "alpha", stream=stream)
    exporter = InMemorySpanExporter()
    tracing = Tracing.from_env("analyze", "alpha", exporter=exporter)
    with tracing.start_span("analyze.candles", symbol="SOLUSDT", event_id="ev-9"):
        logging.getLogger("t").info("inside the span")
    tracing.shutdown()
    [span] = exporter.get_finished_spans()
    [line] = lines(stream)
    assert span.context is not None
    assert line["trace_id"] == format(span.context.trace_id, "032x")
    assert line["span_id"] == format(span.context.span_id, "016x")
    assert (line["symbol"], line["event_id"]) == ("SOLUSDT", "ev-9")
