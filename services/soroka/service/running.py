"""How a service process runs: one asyncio loop, a stop event set by SIGTERM/SIGINT, an exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable

logger = logging.getLogger("soroka.service")


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (finish or hand back in-flight work); a second SIGINT aborts at once."""
    loop = asyncio.get_running_loop()
    interrupts = 0

    def on_term() -> None:
        logger.info("SIGTERM received: stopping")
        stop.set()

    def on_int() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt
        logger.info("SIGINT received: stopping (interrupt again to abort)")
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, on_term)
    loop.add_signal_handler(signal.SIGINT, on_int)


def run_async(main: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run `main(stop)` in a new event loop with stop signals installed; return its exit code."""

    async def runner() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        return await main(stop)

    return asyncio.run(runner())


def consumer_name(configured: str) -> str:
    """The consumer name in a stream group: the configured one, else `hostname-pid` (unique per process)."""
    return configured.strip() or f"{socket.gethostname()}-{os.getpid()}"


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when `stop` is set; returns True if it was set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    except TimeoutError:
        return False
    return True
