"""What the demo sees of itself: each service's /readyz /metrics /config, the simulator, the fake Telegram, Postgres.

One ``Probe.snapshot()`` is one look at everything (short timeouts, failures shown as "down", never
raised): the live view renders it, the summary is built from the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

MINUTE_MS = 60_000


@dataclass(frozen=True)
class ServiceView:
    """One service as its HTTP endpoint shows it."""

    name: str
    reachable: bool = False
    ready: bool = False
    detail: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict)  # "name{label=value}" -> sample value
    config: Mapping[str, Any] = field(default_factory=dict)

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value (0 when absent); with no labels, the sum over every label set."""
        if labels:
            key = name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
            return self.metrics.get(key, 0.0)
        names = (name, name + "_total")  # counters are exposed with the _total suffix
        return sum(v for k, v in self.metrics.items() if k.split("{", 1)[0] in names)


@dataclass(frozen=True)
class Counts:
    """This run's rows in Postgres (by strategy; candles: every symbol's, opened since the run's clock start)."""

    candles: int = 0
    events: Mapping[str, int] = field(default_factory=dict)
    signals: Mapping[str, int] = field(default_factory=dict)
    reports: int = 0
    pnl_by_horizon: Mapping[str, float] = field(default_factory=dict)  # mean net PnL % of known horizons
    trades_open: int = 0
    trades_closed: int = 0
    equity: float | None = None
    deliveries: int = 0


@dataclass(frozen=True)
class Snapshot:
    sim_now_ms: int | None
    sim_speed: float | None
    services: Mapping[str, ServiceView]
    telegram: list[dict[str, Any]]
    breakouts: list[dict[str, Any]]
    counts: Counts
    telegram_up: bool = False


def parse_metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[s.name + ("{" + labels + "}" if labels else "")] = float(s.value)
    return out


class Probe:
    """Looks at the running demo; ``ports`` are the services' HTTP ports by name."""

    def __init__(
        self,
        ports: Mapping[str, int],
        *,
        simulator_url: str | None,
        telegram_url: str | None,
        database_url: str,
        strategy: str,
        since_ms: int,
        timeout: float = 1.0,
    ) -> None:
        self.ports = dict(ports)
        self.simulator_url = simulator_url
        self.telegram_url = telegram_url
        self.database_url = database_url
        self.strategy = strategy
        self.since_ms = since_ms
        self.http = httpx.AsyncClient(timeout=timeout)
        self._db: asyncpg.Connection | None = None

    async def aclose(self) -> None:
        await self.http.aclose()
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._db.close()

    async def _json(self, url: str | None) -> Any:
        if url is None:
            return None
        try:
            r = await self.http.get(url)
            r.raise_for_status()
            return r.json()
        except (httpx.HTTPError, ValueError):
            return None

    async def service(self, name: str, port: int) -> ServiceView:
        base = f"http://127.0.0.1:{port}"
        try:
            ready = await self.http.get(base + "/readyz")
            metrics = await self.http.get(base + "/metrics")
            config = await self.http.get(base + "/config")
        except httpx.HTTPError as e:
            return ServiceView(name, detail=type(e).__name__)
        detail = ""
        with contextlib.suppress(ValueError):
            body = ready.json()
            if isinstance(body, dict) and ready.status_code != 200:
                detail = str(body.get("checks", body))[:80]
        try:
            parsed = parse_metrics(metrics.text)
        except ValueError:
            parsed = {}
        cfg = config.json() if config.status_code == 200 else {}
        return ServiceView(name, True, ready.status_code == 200, detail, parsed, cfg)

    async def counts(self) -> Counts:
        try:
            if self._db is None or self._db.is_closed():
                self._db = await asyncpg.connect(self.database_url, timeout=2)
            return await _counts(self._db, self.strategy, self.since_ms)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            self._db = None
            return Counts()

    async def snapshot(self) -> Snapshot:
        names = list(self.ports)
        views, clock, telegram, breakouts, counts = await asyncio.gather(
            asyncio.gather(*(self.service(n, self.ports[n]) for n in names)),
            self._json(self.simulator_url and self.simulator_url + "/sim/clock"),
            self._json(self.telegram_url and self.telegram_url + "/fake/messages"),
            self._json(self.simulator_url and self.simulator_url + "/sim/breakouts"),
            self.counts(),
        )
        return Snapshot(
            sim_now_ms=int(clock["now"]) if isinstance(clock, dict) else None,
            sim_speed=float(clock["speed"]) if isinstance(clock, dict) else None,
            services=dict(zip(names, views, strict=True)),
            telegram=telegram if isinstance(telegram, list) else [],
            breakouts=breakouts if isinstance(breakouts, list) else [],
            counts=counts,
            telegram_up=isinstance(telegram, list),
        )


async def _counts(db: asyncpg.Connection, strategy: str, since_ms: int) -> Counts:
    # By open time, not insertion: a rerun over the same simulated hour finds its candles already stored.
    candles = await db.fetchval("SELECT count(*) FROM candles WHERE open_time >= $1", since_ms)
    events = await db.fetch(
        "SELECT type, count(*) AS n FROM events WHERE strategy = $1 GROUP BY type", strategy
    )
    signals = await db.fetch(
        "SELECT type, count(*) AS n FROM signals WHERE strategy = $1 GROUP BY type", strategy
    )
    reports = await db.fetchval(
        "SELECT count(*) FROM performance WHERE strategy = $1 AND reported_at IS NOT NULL", strategy
    )
    pnl = await db.fetch(
        "SELECT key, avg((value)::float8) AS mean FROM performance, jsonb_each_text(pnl_net) "
        "WHERE strategy = $1 AND value IS NOT NULL GROUP BY key",
        strategy,
    )
    trades = await db.fetch(
        "SELECT status, count(*) AS n FROM paper_trades WHERE strategy = $1 GROUP BY status", strategy
    )
    equity = await db.fetchval(
        "SELECT equity FROM paper_equity WHERE strategy = $1 ORDER BY at DESC LIMIT 1", strategy
    )
    deliveries = await db.fetchval(
        "SELECT count(*) FROM deliveries WHERE strategy = $1 AND message_id IS NOT NULL", strategy
    )
    by_status = {r["status"]: int(r["n"]) for r in trades}
    return Counts(
        candles=int(candles),
        events={r["type"]: int(r["n"]) for r in events},
        signals={r["type"]: int(r["n"]) for r in signals},
        reports=int(reports),
        pnl_by_horizon={str(r["key"]): float(r["mean"]) for r in pnl},
        trades_open=by_status.get("open", 0),
        trades_closed=sum(n for s, n in by_status.items() if s != "open"),
        equity=float(equity) if equity is not None else None,
        deliveries=int(deliveries),
    )
