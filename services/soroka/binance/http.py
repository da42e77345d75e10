"""The Binance REST transport: weight budget per minute, Retry-After, retries with jittered backoff, counters.

Everything time-related is injected: ``now_ms`` (the exchange's clock; wall time by default) decides the
one-minute weight window, ``sleep`` (seconds in the same time base) does every wait. Against the simulator
with an accelerated clock, pass the simulator clock's ``now_ms``/``sleep``; tests pass a manual clock.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from soroka.binance.errors import BinanceClientError, BinancePayloadError, BinanceUnavailableError
from soroka.binance.schemas import BinanceErrorBody

T = TypeVar("T")
WEIGHT_HEADER = "x-mbx-used-weight-1m"
MINUTE_MS = 60_000


_CONNECTIONS_PER_POOL = 8


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class BinanceStats:
    """Counters a service exports as metrics. ``weight_used`` is the last known weight of the current window."""

    requests: int = 0
    weight_used: int = 0
    weight_spent: int = 0
    throttle_waits: int = 0
    throttle_wait_seconds: float = 0.0
    retry_after_waits: int = 0
    retry_after_seconds: float = 0.0
    retries: int = 0
    errors: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("http_429", "http_418", "http_5xx", "timeout", "network", "malformed", "client_error"), 0
        )
    )


class BinanceHttpClient:
    """GETs against one Binance base URL without ever spending more than ``weight_budget`` per minute."""

    def __init__(
        self,
        base_url: str,
        *,
        weight_budget: int = 4800,
        timeout: float = 10.0,
        retries: int = 4,
        max_concurrency: int = 32,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        now_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        backoff_base: float = 0.25,
        backoff_max: float = 10.0,
        max_retry_after: float = 300.0,
    ) -> None:
        if weight_budget < 1 or retries < 0 or max_concurrency < 1:
            raise ValueError("weight_budget and max_concurrency must be >= 1, retries >= 0")
        self.base_url = base_url.rstrip("/")
        self.weight_budget = weight_budget
        self.timeout = timeout
        self.retries = retries
        self.stats = BinanceStats()
        self._owns_http = client is None
        # httpcore scans every pooled connection for each request it queues, so one pool of 64
        # connections costs O(requests x 64) per cycle; small pools used in turn keep that flat.
        per_pool = min(max_concurrency, _CONNECTIONS_PER_POOL)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._pools = (
            [client]
            if client is not None
            else [
                httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport, limits=limits)
                for _ in range(-(-max_concurrency // per_pool))
            ]
        )
        self._next_pool = 0
        self._now_ms = now_ms
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._backoff = (backoff_base, backoff_max)
        self._max_retry_after = max_retry_after
        self._lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(max_concurrency)
        self._window = -1
        self._used = 0
        self._blocked_until_ms = 0

    async def __aenter__(self) -> BinanceHttpClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            for pool in self._pools:
                await pool.aclose()

    def now_ms(self) -> int:
        return self._now_ms()

    async def _reserve(self, weight: int) -> None:
        """Wait (if needed) until ``weight`` fits in the current minute's budget, then claim it."""
        if weight > self.weight_budget:
            raise ValueError(f"request weight {weight} exceeds the whole budget {self.weight_budget}")
        async with self._lock:
            while True:
                now = self._now_ms()
                if now < self._blocked_until_ms:  # after a 429/418: nobody sends until Retry-After passed
                    await self._sleep((self._blocked_until_ms - now) / 1000)
                    continue
                window = now // MINUTE_MS
                if window != self._window:
                    self._window, self._used = window, 0
                if self._used + weight <= self.weight_budget:
                    self._used += weight
                    self.stats.weight_spent += weight
                    return
                wait = ((window + 1) * MINUTE_MS - now) / 1000
                self.stats.throttle_waits += 1
                self.stats.throttle_wait_seconds += wait
                await self._sleep(wait)

    def _observe_weight(self, resp: httpx.Response) -> None:
        raw = resp.headers.get(WEIGHT_HEADER)
        if raw is None or not raw.isdigit():
            return
        used = int(raw)
        if self._now_ms() // MINUTE_MS == self._window:
            self._used = max(self._used, used)  # others on the same IP count too
        self.stats.weight_used = used

    def _block_for(self, resp: httpx.Response, path: str) -> None:
        raw = resp.headers.get("retry-after", "")
        try:
            seconds = max(0.0, float(raw))
        except ValueError:
            seconds = 60.0  # Binance always sends it; be conservative if a proxy dropped it
        if seconds > self._max_retry_after:
            raise BinanceUnavailableError(f"Binance {resp.status_code} on {path}: Retry-After {seconds:.0f}s")
        self.stats.retry_after_waits += 1
        self.stats.retry_after_seconds += seconds
        self._blocked_until_ms = max(self._blocked_until_ms, self._now_ms() + math.ceil(seconds * 1000))

    async def _backoff_sleep(self, attempt: int) -> None:
        base, cap = self._backoff
        delay = min(cap, base * 2**attempt)
        await self._sleep(delay / 2 + self._rng.uniform(0, delay / 2))

    async def request(
        self, path: str, *, weight: int, parse: Callable[[object], T], params: Mapping[str, Any] | None = None
    ) -> T:
        """GET ``path`` and parse its JSON with ``parse``; retries transient failures, raises the rest."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
            await self._reserve(weight)
            self.stats.requests += 1
            try:
                async with self._sem:
                    http = self._pools[self._next_pool]
                    self._next_pool = (self._next_pool + 1) % len(self._pools)
                    resp = await http.get(path, params=query, timeout=self.timeout)
            except httpx.TimeoutException as e:
                self.stats.errors["timeout"] += 1
                last = f"timeout ({type(e).__name__})"
                await self._backoff_sleep(attempt)
                continue
            except httpx.TransportError as e:
                self.stats.errors["network"] += 1
                last = f"network error ({e!r})"
                await self._backoff_sleep(attempt)
                continue
            self._observe_weight(resp)
            status = resp.status_code
            if status in (429, 418):
                self.stats.errors[f"http_{status}"] += 1
                last = f"HTTP {status}"
                self._block_for(resp, path)
                continue
            if status >= 500:
                self.stats.errors["http_5xx"] += 1
                last = f"HTTP {status}"
                await self._backoff_sleep(attempt)
                continue
            if status >= 400:
                self.stats.errors["client_error"] += 1
                raise self._client_error(resp, path)
            return self._parse(resp, path, parse)
        raise BinanceUnavailableError(
            f"Binance {path}: gave up after {self.retries + 1} attempts, last: {last}"
        )

    def _client_error(self, resp: httpx.Response, path: str) -> BinanceClientError:
        try:
            body = BinanceErrorBody.parse(resp.json())
        except ValueError:
            body = None
        if body is None:
            return BinanceClientError(resp.status_code, 0, resp.text[:200], path)
        return BinanceClientError(resp.status_code, body.code, body.msg, path)

    def _parse(self, resp: httpx.Response, path: str, parse: Callable[[object], T]) -> T:
        try:
            return parse(resp.json())
        except ValueError as e:  # JSONDecodeError is a ValueError; BinancePayloadError is not
            self.stats.errors["malformed"] += 1
            raise BinancePayloadError(f"Binance {path}: body is not JSON: {resp.text[:120]!r}") from e
        except BinancePayloadError as e:
            self.stats.errors["malformed"] += 1
            raise BinancePayloadError(f"Binance {path}: {e}") from e
