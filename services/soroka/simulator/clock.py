"""The simulator's clock: real time accelerated by a factor, or moved by hand in tests.

Both clocks expose ``now_ms()`` and an async ``sleep(seconds)`` in *simulated* seconds, so a Binance
client given the same clock waits for rate-limit windows in the simulator's time base.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...

    def advance(self, ms: int) -> None: ...

    async def sleep(self, seconds: float) -> None: ...

    @property
    def speed(self) -> float: ...


class ScaledClock:
    """Wall time scaled by ``speed`` from ``start_ms``: speed 60 makes one real second a simulated minute."""

    def __init__(self, start_ms: int | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._start = time.time_ns() // 1_000_000 if start_ms is None else start_ms
        self._real0 = time.monotonic()
        self._speed = speed
        self._offset = 0

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        return self._start + self._offset + int((time.monotonic() - self._real0) * 1000 * self._speed)

    def advance(self, ms: int) -> None:
        self._offset += ms

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


class ManualClock:
    """Time moves only when told: ``advance(ms)``, or ``sleep`` (which advances and records the wait)."""

    speed = 1.0

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms
        self.sleeps: list[float] = []

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += max(0, round(seconds * 1000))
        await asyncio.sleep(0)
