"""Hot reload of a service's `.env`: strategy keys apply while running, the rest wait for a restart.

The file is polled (a mounted ConfigMap changes by swapping a symlink, which inotify misses); a change
is detected by stat and confirmed by a content hash. Environment variables still override the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from soroka.core.configuring import format_validation_error, load_settings, masked_dump
from soroka.core.settings import ConfigError, env_key, is_hot
from soroka.observability.metrics import ReloadOutcome, ServiceMetrics

S = TypeVar("S", bound=BaseSettings)

_Stat = tuple[int, int, int]  # mtime_ns, size, inode
_RACY_S = 2.0


def _stat(path: Path) -> _Stat:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class SettingsReloader(Generic[S]):
    """Watches `env_file` and hands each applied configuration to `on_change`."""

    def __init__(
        self,
        cls: type[S],
        env_file: Path,
        current: S,
        on_change: Callable[[S], Awaitable[None] | None],
        *,
        metrics: ServiceMetrics | None = None,
        interval: float = 1.0,
        logger: logging.Logger | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.cls = cls
        self.env_file = Path(env_file)
        self.on_change = on_change
        self.metrics = metrics
        self.interval = interval
        self.logger = logger or logging.getLogger("soroka.config")
        self.environ = environ
        self._current = current
        self._stat: _Stat | None = None
        self._digest: str | None = None
        try:
            self._stat = _stat(self.env_file)
            self._digest = hashlib.sha256(self.env_file.read_bytes()).hexdigest()
        except OSError:
            pass  # a missing file shows up as a change once it appears
        if metrics is not None:
            metrics.set_config(current)

    @property
    def current(self) -> S:
        return self._current

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception:  # a broken reload must not take the service down; the old settings stay
                self.logger.exception("configuration reload failed; keeping the current settings")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def check_once(self) -> S:
        """Look at the file once; apply what changed and may be applied. Returns the settings in force."""
        try:
            stat = _stat(self.env_file)
            # A file written twice within the clock's granularity keeps its stat: hash it while it is young.
            if stat == self._stat and time.time() - stat[0] / 1e9 > _RACY_S:
                return self._current
            content = self.env_file.read_bytes()
        except OSError as e:
            self.logger.warning(f"cannot read {self.env_file}: {e.strerror}; keeping the current settings")
            return self._current
        self._stat = stat
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._digest:
            return self._current
        self._digest = digest
        await self._reload()
        return self._current

    async def _reload(self) -> None:
        environ = None if self.environ is None else dict(self.environ)
        try:
            loaded = load_settings(self.cls, self.env_file, environ)
        except ConfigError as e:
            self._reject(str(e))
            return
        names = [n for n in self.cls.model_fields if getattr(loaded, n) != getattr(self._current, n)]
        hot = {n: getattr(loaded, n) for n in names if is_hot(self.cls, n)}
        for name in names:
            if name not in hot:
                self.logger.warning(f"{env_key(name)} changed: restart needed to apply it")
        if not hot:
            self._count(ReloadOutcome.UNCHANGED)
            return
        candidate = self._current.model_copy(update=hot)
        try:  # cross-field rules may tie a hot key to one kept from before
            new = self.cls.model_validate(dict(candidate))
        except ValidationError as e:
            self._reject(
                format_validation_error(self.cls, e, {env_key(k): v for k, v in dict(candidate).items()})
            )
            return
        try:
            result = self.on_change(new)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.logger.exception("applying the new configuration failed; keeping the current settings")
            self._count(ReloadOutcome.REJECTED)
            return
        self._current = new
        self._count(ReloadOutcome.APPLIED)
        if self.metrics is not None:
            self.metrics.set_config(new)
        dump = masked_dump(new)
        applied = {env_key(n): dump[env_key(n)] for n in hot}
        self.logger.info("configuration reloaded", extra={"applied": applied})

    def _reject(self, line: str) -> None:
        # The line is the template: distinct errors must not be folded together by the repeat filter.
        self.logger.error(f"{self.env_file}: {line}; keeping the current settings")
        self._count(ReloadOutcome.REJECTED)

    def _count(self, outcome: ReloadOutcome) -> None:
        if self.metrics is not None:
            self.metrics.config_reloaded(outcome)
