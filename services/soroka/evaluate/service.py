"""The evaluate worker: track signals, then judge each horizon as the candles after it arrive.

Time is the data's: a horizon is decided once a candle at or beyond it is stored for the symbol (so
an accelerated simulator and a restart behave the same). A horizon whose candle is missing while a
later one exists is "unavailable" (None), never guessed.
"""

from __future__ import annotations

import logging
import time

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from soroka.core.candles import CandleArrays
from soroka.core.messages import HORIZONS_MIN, ReportMessage, SignalMessage, stream_key
from soroka.core.settings import EvaluateServiceSettings, EventType
from soroka.evaluate.pnl import EXCURSION_MINUTES, evaluate
from soroka.observability.logs import log_context
from soroka.observability.tracing import Tracing
from soroka.storage import market, performance
from soroka.storage.performance import PendingEvaluation
from soroka.streams.consuming import TemporaryError
from soroka.streams.producing import StreamProducer

log = logging.getLogger("soroka.evaluate")
MINUTE_MS = 60_000
ABANDON_AFTER_MIN = 60  # data-time minutes after the last horizon before a silent symbol's signal is closed


class EvaluateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tracked = Counter(
            "soroka_evaluate_signals_tracked", "Signals taken into evaluation.", registry=registry
        )
        self.reports = Counter(
            "soroka_evaluate_reports", "Reports emitted, final or partial.", ["final"], registry=registry
        )
        self.pending = Gauge(
            "soroka_evaluate_pending_signals", "Signals whose horizons are not all known.", registry=registry
        )
        self.unavailable = Counter(
            "soroka_evaluate_unavailable_horizons",
            "Horizons reported unavailable (missing candle).",
            ["horizon"],
            registry=registry,
        )
        self.lag = Histogram(
            "soroka_evaluate_lag_seconds",
            "Wall time from the last horizon's close to the final report.",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=registry,
        )
        self.pnl = Histogram(
            "soroka_evaluate_pnl_percent",
            "Gross PnL % of signals per horizon.",
            ["horizon"],
            buckets=(-10, -5, -3, -2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=registry,
        )


class Evaluator:
    def __init__(
        self,
        settings: EvaluateServiceSettings,
        pool: asyncpg.Pool,
        producer: StreamProducer,
        metrics: EvaluateMetrics,
        tracing: Tracing,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.producer = producer
        self.metrics = metrics
        self.tracing = tracing
        self._traces: dict[str, str | None] = {}

    def apply_settings(self, settings: EvaluateServiceSettings) -> None:
        self.settings = settings

    async def on_signal(self, signal: SignalMessage, entry_id: str) -> None:
        with self.tracing.start_span(
            "evaluate.track", signal.traceparent, {"soroka.event_id": signal.event_id}
        ):
            try:
                if await performance.track_signal(self.pool, signal):
                    self.metrics.tracked.inc()
            except (OSError, asyncpg.PostgresConnectionError) as e:
                raise TemporaryError(f"postgres unavailable: {e}") from e
            self._traces[signal.event_id] = self.tracing.current_traceparent() or signal.traceparent

    async def evaluate_pending(self) -> int:
        """One pass over the signals still being evaluated; returns how many became final.

        The data's clock is the newest published candle. A signal whose symbol stopped receiving candles
        (delisted, dropped from the universe) is closed once the data's clock is ABANDON_AFTER_MIN past
        its last horizon, with the missing horizons unavailable.
        """
        s = self.settings
        todo = await performance.pending(self.pool, s.strategy_name)
        self.metrics.pending.set(len(todo))
        if not todo:
            return 0
        lasts = await market.last_open_times(self.pool, s.interval, sorted({p.symbol for p in todo}))
        data_now = max([*lasts.values(), await market.data_clock(self.pool, s.interval) or 0])
        finished = 0
        for p in todo:
            last = lasts.get(p.symbol)
            if data_now >= p.open_time + (EXCURSION_MINUTES + ABANDON_AFTER_MIN) * MINUTE_MS:
                last = max(last or 0, p.open_time + EXCURSION_MINUTES * MINUTE_MS)
            if last is None or last <= p.open_time:
                continue
            with log_context(symbol=p.symbol, event_id=p.event_id):
                finished += await self._evaluate_one(p, last)
        return finished

    async def _evaluate_one(self, p: PendingEvaluation, last: int) -> int:
        s = self.settings
        decided = [h for h in HORIZONS_MIN if last >= p.open_time + h * MINUTE_MS]
        final = len(decided) == len(HORIZONS_MIN)
        if len(decided) == p.known and not final:
            return 0  # nothing new since the last pass: no query
        after = await market.candles_between(
            self.pool, p.symbol, s.interval, p.open_time + 1, p.open_time + EXCURSION_MINUTES * MINUTE_MS
        )
        perf = evaluate(EventType(p.type), p.open_time, p.entry, CandleArrays.from_candles(after), s.fee_pct)
        pnl = {str(h): perf.pnl[h] for h in decided}
        net = {str(h): perf.pnl_net[h] for h in decided}
        mfe, mae = (perf.mfe, perf.mae) if final else (None, None)
        report = ReportMessage(
            event_id=p.event_id, strategy=p.strategy, symbol=p.symbol, type=EventType(p.type), open_time=p.open_time,
            entry=p.entry, confidence=p.confidence, pnl=pnl, pnl_net=net, mfe=mfe, mae=mae, final=final,
            traceparent=self._traces.get(p.event_id),
        )  # fmt: skip
        if final or s.report_each_horizon:
            with self.tracing.start_span(
                "evaluate.report", report.traceparent, {"soroka.event_id": p.event_id}
            ):
                report = report.model_copy(
                    update={"traceparent": self.tracing.current_traceparent() or report.traceparent}
                )
                claim = f"soroka:{p.strategy}:reported:{p.event_id}:{len(decided)}"
                if await self.producer.publish_once(claim, [stream_key(p.strategy, "reports")], report):
                    self.metrics.reports.labels(str(final).lower()).inc()
        await performance.save(self.pool, p.event_id, pnl=pnl, pnl_net=net, mfe=mfe, mae=mae, final=final)
        if final:
            self._traces.pop(p.event_id, None)
            for h in HORIZONS_MIN:
                v = perf.pnl[h]
                if v is None:
                    self.metrics.unavailable.labels(str(h)).inc()
                else:
                    self.metrics.pnl.labels(str(h)).observe(v)
            self.metrics.lag.observe(max(0.0, time.time() - (p.open_time + 16 * MINUTE_MS) / 1000))
            log.info("final report %s: %s", p.event_id, pnl)
        return int(final)
