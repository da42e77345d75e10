"""Helpers for the Telegram tests: the fake Bot API served in-process by uvicorn, and a fake clock."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn

from soroka.fake_telegram.app import create_app
from soroka.fake_telegram.state import FakeTelegram, FakeTelegramConfig

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
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield RunningFake(f"http://127.0.0.1:{port}", app.state.telegram)
    finally:
        server.should_exit = True
        await task
        sock.close()
