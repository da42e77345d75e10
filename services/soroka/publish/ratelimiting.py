"""Rate limiting of Telegram calls: per-chat and global sliding windows the sender acquires before each call.

Each window keeps the grant times of its last ``limit`` calls; a call is granted when the oldest of
them has left the window. A small slack is added to every window so that request latency jitter
between us and Telegram cannot make Telegram see one call too many in its own window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Window:
    """At most ``limit`` calls in any ``seconds`` (plus ``slack`` seconds of safety margin)."""

    limit: int
    seconds: float
    slack: float = 0.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0 or self.slack < 0:
            raise ValueError(f"invalid rate window {self}")


class SlidingWindow:
    """Grant times of the last ``limit`` calls of one window."""

    def __init__(self, spec: Window) -> None:
        self.spec = spec
        self.grants: deque[float] = deque(maxlen=spec.limit)

    def wait(self, now: float) -> float:
        """Seconds until one more call fits (0 when it fits now)."""
        if len(self.grants) < self.spec.limit:
            return 0.0
        return max(0.0, self.grants[0] + self.spec.seconds + self.spec.slack - now)

    def record(self, now: float) -> None:
        self.grants.append(now)


@dataclass
class LimiterStats:
    granted: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    max_queue_depth: int = 0


@dataclass
class _ChatState:
    windows: list[SlidingWindow]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class RateLimiter:
    """Per-chat windows (e.g. 20/min and 1/s) and global windows (e.g. 30/s); FIFO per chat.

    ``clock`` and ``sleep`` are injectable so tests run on fake time.
    """

    def __init__(
        self,
        per_chat: tuple[Window, ...],
        global_: tuple[Window, ...],
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.per_chat, self.clock, self.sleep = per_chat, clock, sleep
        self.global_windows = [SlidingWindow(w) for w in global_]
        self.chats: dict[str, _ChatState] = {}
        self.stats = LimiterStats()

    @classmethod
    def telegram(
        cls,
        per_chat_per_minute: int,
        global_per_second: int,
        *,
        per_chat_min_interval: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> RateLimiter:
        """Telegram's published limits: N per minute per chat, about 1/s per chat, M per second overall."""
        per_chat = [Window(per_chat_per_minute, 60.0, slack=0.5)]
        if per_chat_min_interval > 0:
            per_chat.append(Window(1, per_chat_min_interval, slack=0.0))
        return cls(tuple(per_chat), (Window(global_per_second, 1.0, slack=0.05),), clock=clock, sleep=sleep)

    def queue_depth(self, chat_id: str | int | None = None) -> int:
        """Calls waiting for a grant, for one chat or overall."""
        if chat_id is not None:
            state = self.chats.get(str(chat_id))
            return state.waiting if state else 0
        return sum(s.waiting for s in self.chats.values())

    async def acquire(self, chat_id: str | int) -> float:
        """Wait until one more call to ``chat_id`` fits every window; record it; return the seconds waited."""
        key = str(chat_id)
        state = self.chats.get(key)
        if state is None:
            state = self.chats[key] = _ChatState([SlidingWindow(w) for w in self.per_chat])
        state.waiting += 1
        self.stats.max_queue_depth = max(self.stats.max_queue_depth, self.queue_depth())
        started = self.clock()
        try:
            async with state.lock:
                while True:
                    now = self.clock()
                    wait = max((w.wait(now) for w in (*state.windows, *self.global_windows)), default=0.0)
                    if wait <= 0:
                        for w in (*state.windows, *self.global_windows):
                            w.record(now)
                        break
                    await self.sleep(wait)
        finally:
            state.waiting -= 1
        waited = self.clock() - started
        self.stats.granted += 1
        if waited > 0:
            self.stats.waits += 1
            self.stats.waited_seconds += waited
        return waited
