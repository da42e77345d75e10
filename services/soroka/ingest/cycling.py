"""One ingest cycle: refresh the universe when due, snapshot 24h tickers, fetch, store and publish closed candles."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from soroka.core.candles import Candle, SymbolInfo, Ticker24h
from soroka.core.messages import CandlesMessage, Figures24h, stream_key
from soroka.core.settings import IngestSettings
from soroka.ingest.planning import last_closed_open_time, plan_fetches
from soroka.ingest.universe import Universe, rank_tickers, select_universe
from soroka.observability.tracing import Tracing
from soroka.storage import market
from soroka.streams.producing import StreamProducer

log = logging.getLogger(__name__)


class MarketData(Protocol):
    """What the ingest needs from Binance (the real client, pointed at Binance or the simulator)."""

    async def server_time(self) -> int: ...
    async def exchange_info(self) -> list[SymbolInfo]: ...
    async def ticker_24hr(self) -> list[Ticker24h]: ...
    async def klines(
        self, symbol: str, interval: str, *, start_time: int, limit: int, now_ms: int
    ) -> list[Candle]: ...


@dataclass
class CycleResult:
    target: int
    universe: int
    candles_stored: int = 0
    messages_published: int = 0
    symbols_failed: int = 0
    gaps_backfilled: int = 0
    duration_s: float = 0.0


@dataclass
class IngestState:
    """What the ingest keeps between cycles: universe, recent windows and publish cursors."""

    universe: Universe | None = None
    universe_at: float = 0.0
    pruned_at: float | None = None
    windows: dict[str, deque[Candle]] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)
    last_stored: dict[str, int] = field(default_factory=dict)
    loaded: set[str] = field(default_factory=set)


def _figures(t: Ticker24h | None) -> Figures24h | None:
    if t is None:
        return None
    return Figures24h(
        quote_volume=t.quote_volume,
        trade_count=t.trade_count,
        high=t.high,
        low=t.low,
        last_price=t.last_price,
    )


class IngestCycle:
    def __init__(
        self,
        settings: IngestSettings,
        client: MarketData,
        pool: asyncpg.Pool,
        producer: StreamProducer,
        *,
        clock: Callable[[], float] = time.monotonic,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.pool = pool
        self.producer = producer
        self.state = IngestState()
        self.clock = clock
        self.tracing = tracing or Tracing(None, settings.strategy_name)
        self.stream = stream_key(settings.strategy_name, "candles")

    async def refresh_universe(self, tickers: Sequence[Ticker24h]) -> Universe:
        infos = await self.client.exchange_info()
        universe = select_universe(infos, tickers, self.settings.universe_size, self.settings.quote_asset)
        await market.upsert_symbols(self.pool, [i for i in infos if i.symbol in set(universe.symbols)])
        self.state.universe, self.state.universe_at = universe, self.clock()
        log.info(
            "universe refreshed: %d of %d tradable %s pairs",
            len(universe),
            universe.tradable,
            self.settings.quote_asset,
        )
        return universe

    async def _load_history(self, symbols: Sequence[str]) -> None:
        """Seed windows, last stored times and cursors of symbols new to this process (after a restart too)."""
        new = [s for s in symbols if s not in self.state.loaded]
        if not new:
            return
        s = self.settings
        recent = await market.recent_candles(self.pool, s.interval, new, s.candle_window)
        cursors = await market.publish_cursors(self.pool, s.strategy_name, s.interval)
        for sym in new:
            rows = recent.get(sym, [])
            self.state.windows[sym] = deque(rows, maxlen=s.candle_window)
            if rows:
                self.state.last_stored[sym] = rows[-1].open_time
            if sym in cursors:
                self.state.cursors[sym] = cursors[sym]
            self.state.loaded.add(sym)

    async def run(self, now_ms: int | None = None) -> CycleResult:
        started = self.clock()
        s = self.settings
        now = await self.client.server_time() if now_ms is None else now_ms
        target = last_closed_open_time(now, s.interval_ms)
        tickers = await self.client.ticker_24hr()
        due = (
            self.state.universe is None or started - self.state.universe_at >= s.universe_refresh_minutes * 60
        )
        universe = await self.refresh_universe(tickers) if due else self.state.universe
        assert universe is not None
        ranks = rank_tickers(universe, tickers)
        by_symbol = {t.symbol: t for t in tickers}
        await market.store_ticker_snapshots(
            self.pool, target, [by_symbol[x] for x in universe.symbols if x in by_symbol], ranks
        )
        await self._load_history(universe.symbols)
        result = CycleResult(target=target, universe=len(universe))
        fetched = await self._fetch_all(universe.symbols, target, now, result)
        pairs = [(sym, c) for sym, cs in fetched.items() for c in cs]
        result.candles_stored = await market.store_candles(self.pool, s.interval, pairs)
        extended: dict[str, list[Candle]] = {}
        for sym, cs in fetched.items():
            window = self.state.windows[sym]
            extended[sym] = [*window, *(c for c in cs if not window or c.open_time > window[-1].open_time)]
            if cs:
                self.state.last_stored[sym] = cs[-1].open_time
                window.extend(extended[sym][len(window) :])
        result.messages_published = await self._publish(universe, by_symbol, ranks, extended)
        await self._prune(target, started)
        result.duration_s = self.clock() - started
        return result

    async def _prune(self, target: int, now: float) -> None:
        """Retention: once an hour, drop history older than RETENTION_DAYS (exchange time)."""
        days = self.settings.retention_days
        if days <= 0 or (self.state.pruned_at is not None and now - self.state.pruned_at < 3600):
            return
        self.state.pruned_at = now
        removed = await market.prune_history(self.pool, target - days * 86_400_000)
        if removed:
            log.info("retention: %d rows older than %d days removed", removed, days)

    async def _fetch_all(
        self, symbols: Sequence[str], target: int, now: int, result: CycleResult
    ) -> dict[str, list[Candle]]:
        s = self.settings
        sem = asyncio.Semaphore(s.max_concurrency)

        async def one(sym: str) -> tuple[str, list[Candle]]:
            last = self.state.last_stored.get(sym)
            plan = plan_fetches(
                sym,
                last,
                target,
                s.interval_ms,
                seed_candles=s.candle_window,
                backfill_limit=s.backfill_limit_minutes,
            )
            out: list[Candle] = []
            async with sem:
                for f in plan:
                    rows = await self.client.klines(
                        sym, s.interval, start_time=f.start_time, limit=f.limit, now_ms=now
                    )
                    out.extend(c for c in rows if f.start_time <= c.open_time <= target)
            if last is not None and len(out) > 1:
                result.gaps_backfilled += len(out) - 1
            return sym, out

        results = await asyncio.gather(*(one(sym) for sym in symbols), return_exceptions=True)
        fetched: dict[str, list[Candle]] = {}
        for sym, r in zip(symbols, results, strict=True):
            if isinstance(r, asyncio.CancelledError):
                raise r
            if isinstance(r, BaseException):
                result.symbols_failed += 1
                log.warning("klines for %s failed this cycle: %s", sym, r, extra={"symbol": sym})
                continue
            _, candles = r
            dedup = {c.open_time: c for c in candles}
            fetched[sym] = [dedup[k] for k in sorted(dedup)]
        return fetched

    async def _publish(
        self,
        universe: Universe,
        tickers: dict[str, Ticker24h],
        ranks: dict[str, int],
        history: dict[str, list[Candle]],
    ) -> int:
        """One message per symbol per closed candle beyond the publish cursor, each with its causal window.

        A symbol seen for the first time publishes only its newest candle (the seeded history is context);
        after a restart everything stored beyond the cursor is published, so backfilled minutes are too.
        """
        s = self.settings
        messages: list[CandlesMessage] = []
        cursors: dict[str, int] = {}
        for sym in universe.symbols:
            candles = history.get(sym)
            if not candles:
                continue
            cursor = self.state.cursors.get(sym)
            if cursor is None:
                start = len(candles) - 1
            else:
                start = next((i for i, c in enumerate(candles) if c.open_time > cursor), len(candles))
            if start >= len(candles):
                continue
            # A span per symbol (child of the cycle's): each symbol's messages carry their own parent.
            attributes = {"open_time": candles[-1].open_time, "messages": len(candles) - start}
            with self.tracing.start_span("ingest.publish", symbol=sym, attributes=attributes):
                traceparent = self.tracing.current_traceparent()
            for i in range(start, len(candles)):
                rows = [c.row() for c in candles[max(0, i + 1 - s.candle_window) : i + 1]]
                messages.append(
                    CandlesMessage.model_construct(  # built from typed candles: validation would only cost time
                        strategy=s.strategy_name,
                        symbol=sym,
                        interval=s.interval,
                        candles=rows,
                        ticker=_figures(tickers.get(sym)),
                        liquidity_rank=ranks.get(sym, 0),
                        universe_size=len(universe),
                        published_at=int(time.time() * 1000),
                        traceparent=traceparent,
                    )
                )
                cursors[sym] = candles[i].open_time
        await self.producer.publish_many(self.stream, messages)
        await market.advance_publish_cursors(self.pool, s.strategy_name, s.interval, cursors)
        self.state.cursors.update(cursors)
        return len(messages)
