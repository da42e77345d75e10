"""Helpers for the Telegram tests: the fake Bot API served in-process by uvicorn, and a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from soroka.fake_telegram.app import create_app
from soroka.fake_telegram.state import FakeTelegram, FakeTelegramConfig
from soroka.simulator.serving import serve_app

TOKEN = "123456:SECRET-token_value"


@dataclass
class FakeClock:
    """Time that moves only when someone sleeps on it."""

    now: float = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class RunningFake:
    url: str
    state: FakeTelegram


@asynccontextmanager
async def serve_fake(config: FakeTelegramConfig) -> AsyncIterator[RunningFake]:
    app = create_app(config)
    async with serve_app(app) as url:
        yield RunningFake(url, app.state.telegram)
