"""The demo's process supervisor: each service a child process in its own group, crashes counted, all stopped.

Every child is ``python -m soroka <command> ...`` started in a new session (so a terminal's Ctrl-C reaches
only the demo, which then stops the children in order), with its stdout/stderr (the JSON log lines)
appended to ``<log_dir>/<name>.log``. A child that exits while the demo runs is a crash: it is counted and,
within ``max_restarts``, started again. ``stop()`` sends SIGTERM to every group, then SIGKILL to what is
left after ``grace`` seconds; it also runs at interpreter exit, so nothing outlives the demo.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the demo dies without stopping it (e.g. SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ServiceSpec:
    """How to start one supervised service."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    http_port: int = 0
    stop_last: bool = False  # infrastructure the others use (simulator, fake servers): stopped after them

    @classmethod
    def soroka(
        cls,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        http_port: int = 0,
        *,
        stop_last: bool = False,
    ) -> ServiceSpec:
        """A `soroka` sub-command run by this interpreter (works from a venv without the entry point on PATH)."""
        return cls(name, (sys.executable, "-m", "soroka", *command), env, http_port, stop_last)


@dataclass
class Child:
    """A supervised service and what happened to it."""

    spec: ServiceSpec
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    crashes: int = 0
    exit_codes: list[int] = field(default_factory=list)
    given_up: bool = False
    counted_pid: int | None = None  # the exited process whose crash was counted

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def state(self) -> str:
        if self.running:
            return "running"
        return "failed" if self.given_up else "stopped"


class Supervisor:
    """Starts, watches and stops the demo's service processes."""

    def __init__(
        self,
        log_dir: Path,
        *,
        pids_file: Path | None = None,
        max_restarts: int = 3,
        restart_delay: float = 1.0,
        grace: float = 10.0,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.pids_file = pids_file
        self.max_restarts = max_restarts
        self.restart_delay = restart_delay
        self.grace = grace
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.children: dict[str, Child] = {}
        self._stopping = False

    def __enter__(self) -> Self:
        atexit.register(self.stop)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, spec: ServiceSpec) -> Child:
        """Start a service (its log is appended to); the same name may not be started twice."""
        if spec.name in self.children:
            raise ValueError(f"service {spec.name!r} is already supervised")
        child = Child(spec)
        self.children[spec.name] = child
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if child.log is None:
            child.log = self.log_path(child.spec.name).open("ab")
        env = {**self.base_env, **child.spec.env}
        child.proc = subprocess.Popen(
            list(child.spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if _can_die_with_parent() else None,
        )
        child.started_at = time.monotonic()
        child.starts += 1
        self._write_pids()

    def poll(self) -> list[str]:
        """Look at every child once: count a crash for each that exited, restart within the limit.

        Returns the names of the services that crashed since the last call.
        """
        crashed: list[str] = []
        if self._stopping:
            return crashed
        for name, child in self.children.items():
            if child.proc is None or child.given_up:
                continue
            code = child.proc.poll()
            if code is None:
                continue
            if child.proc.pid != child.counted_pid:
                child.crashes += 1
                child.exit_codes.append(code)
                child.counted_pid = child.proc.pid
                crashed.append(name)
            if child.crashes > self.max_restarts:
                child.given_up = True
                continue
            if time.monotonic() - child.started_at >= self.restart_delay:
                self._spawn(child)
        if crashed:
            self._write_pids()
        return crashed

    @property
    def crashes(self) -> dict[str, int]:
        return {name: c.crashes for name, c in self.children.items()}

    def pids(self) -> dict[str, int | None]:
        return {name: c.pid if c.running else None for name, c in self.children.items()}

    def _write_pids(self) -> None:
        if self.pids_file is None:
            return
        tmp = self.pids_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"supervisor": os.getpid(), "services": self.pids()}, indent=2))
        tmp.replace(self.pids_file)

    def stop(self) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after the grace period; idempotent."""
        atexit.unregister(self.stop)
        self._stopping = True
        for last in (False, True):
            self._stop_wave([c for c in self.children.values() if c.spec.stop_last is last])
        for c in self.children.values():
            if c.log is not None:
                c.log.close()
                c.log = None
        if self.pids_file is not None and self.children:
            self._write_pids()

    def _stop_wave(self, children: list[Child]) -> None:
        live = [c for c in children if c.proc is not None and c.proc.poll() is None]
        for c in live:
            _signal_group(c, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for c in live:
            assert c.proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                c.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for c in live:
            assert c.proc is not None
            if c.proc.poll() is None:
                _signal_group(c, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    c.proc.wait(timeout=5)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    assert child.proc is not None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.proc.pid, sig)


def _can_die_with_parent() -> bool:
    # PDEATHSIG follows the starting *thread*: only safe from the main thread.
    return sys.platform == "linux" and threading.current_thread() is threading.main_thread()
