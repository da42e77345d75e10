"""Fixtures for the Telegram tests: a fake clock and a starter for in-process fake Bot API servers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
from telegram_fakes import FakeClock, RunningFake, serve_fake

from soroka.fake_telegram.state import FakeTelegramConfig


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start_fake() -> Callable[..., AbstractAsyncContextManager[RunningFake]]:
    """start_fake(**FakeTelegramConfig fields) -> async context manager yielding a RunningFake."""

    def start(**kw: object) -> AbstractAsyncContextManager[RunningFake]:
        return serve_fake(FakeTelegramConfig(**kw))  # type: ignore[arg-type]

    return start
