"""Structured logs for every service: JSON lines with strategy/symbol/event ids, repeated warnings rate limited."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from opentelemetry import trace
from pydantic import BaseModel

from soroka.core.configuring import masked_dump

_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("soroka_log_context", default=MappingProxyType({}))

# Attributes every LogRecord has; anything else on a record came from `extra=` (or a filter).
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_CORE_KEYS = ("ts", "level", "service", "strategy", "logger", "msg")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (symbol=..., event_id=...) to every log line inside; follows awaits and tasks created inside."""
    token = _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **fields}))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_log_context() -> Mapping[str, Any]:
    return _CONTEXT.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the core keys first, then context, trace ids and `extra=` fields."""

    def __init__(self, service: str, strategy: str) -> None:
        super().__init__()
        self.service = service
        self.strategy = strategy

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "strategy": self.strategy,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in _CONTEXT.get().items() if v is not None and k not in _CORE_KEYS})
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        out.update(
            {
                k: v
                for k, v in record.__dict__.items()
                if k not in _RECORD_ATTRS and k not in _CORE_KEYS and not k.startswith("_")
            }
        )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class RepeatFilter(logging.Filter):
    """Let one (logger, template, level) warning through per `interval` seconds; count the rest.

    The next record that passes carries ``suppressed=N``. Records below WARNING always pass.
    """

    max_keys = 4096  # templates built with f-strings must not grow the table without bound

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._seen: dict[tuple[str, str, int], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg), record.levelno)
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        if seen is not None and seen[1]:
            record.suppressed = seen[1]
        if seen is None and len(self._seen) >= self.max_keys:
            self._forget_older_than(now - self.interval)
        self._seen[key] = (now, 0)
        return True

    def _forget_older_than(self, cutoff: float) -> None:
        for key in [k for k, (t, _) in self._seen.items() if t < cutoff]:
            del self._seen[key]
        if len(self._seen) >= self.max_keys:
            self._seen.clear()


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs on the root logger (found again by its type)."""


def configure_logging(
    service: str,
    strategy: str,
    level: str = "INFO",
    stream: TextIO | None = None,
    *,
    repeat_interval: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Send every log record to `stream` (stderr) as JSON lines; calling again replaces the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, JsonLinesHandler)]:
        root.removeHandler(old)
        old.close()
    handler = JsonLinesHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter(service, strategy))
    handler.addFilter(RepeatFilter(repeat_interval, clock))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The embedded HTTP server's own start/stop chatter adds nothing to the service's log.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def log_effective_config(logger: logging.Logger, settings: BaseModel) -> None:
    """Log the configuration in force at start, by env key, secrets masked."""
    logger.info(
        "effective configuration",
        extra={"settings": type(settings).__name__, "config": masked_dump(settings)},
    )
