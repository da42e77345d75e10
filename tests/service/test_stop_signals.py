"""SIGTERM and SIGINT ask a service to stop; a second SIGINT aborts; run_async returns main's exit code."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest

from soroka.service.running import consumer_name, install_stop_signals


@pytest.fixture
async def stop() -> AsyncIterator[asyncio.Event]:
    event = asyncio.Event()
    install_stop_signals(event)
    yield event
    loop = asyncio.get_running_loop()
    loop.remove_signal_handler(signal.SIGTERM)
    loop.remove_signal_handler(signal.SIGINT)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_sets_the_event(stop: asyncio.Event, sig: signal.Signals) -> None:
    assert not stop.is_set()
    os.kill(os.getpid(), sig)
    await asyncio.wait_for(stop.wait(), 2)


SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from soroka.service.running import run_async

    async def main(stop: asyncio.Event) -> int:
        print("ready", flush=True)
        if sys.argv[1] == "stubborn":
            await asyncio.sleep(30)  # ignores the stop event: only a second SIGINT ends it
        await stop.wait()
        return 3

    sys.exit(run_async(main))
    """
)


def start(mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_run_async_returns_the_exit_code_of_main_after_sigterm() -> None:
    proc = start("polite")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 3


def test_a_second_sigint_aborts_a_service_that_does_not_stop() -> None:
    proc = start("stubborn")
    proc.send_signal(signal.SIGINT)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)  # the first interrupt only asks
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in stderr


def test_consumer_name_defaults_to_host_and_pid() -> None:
    assert consumer_name("analyze-0") == "analyze-0"
    assert consumer_name("") == f"{socket.gethostname()}-{os.getpid()}"
    assert consumer_name("  ") == f"{socket.gethostname()}-{os.getpid()}"
