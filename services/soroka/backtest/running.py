"""Backtest runner: files -> per-symbol detection, scoring and PnL -> cross-symbol ranks -> filter verdicts.

Symbols are processed one at a time, so memory holds one symbol's candles plus, per symbol, a float32
rolling-24h quote volume per minute (4 bytes/minute) for the liquidity rank, and the sparse events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soroka.analyze.detection import MINUTE_MS, detect
from soroka.analyze.filters import FilterChain
from soroka.analyze.scoring import ScoredEvent, score_events
from soroka.backtest.records import BacktestRecord
from soroka.backtest.rolling import MinuteSeries, figures_at, liquidity_ranks, rolling_quote_volume
from soroka.core.candles import CandleArrays
from soroka.core.settings import ConfigError, EventType, StrategySettings
from soroka.evaluate.pnl import Performance, evaluate_many
from soroka.history.klinefiles import concat, read_kline_file, symbol_of

Progress = Callable[[str, int, int], None]  # (symbol, done, total)


@dataclass(frozen=True, slots=True)
class SymbolStats:
    symbol: str
    files: int
    candles: int
    gaps: int  # missing minutes between the first and last candle
    events: int


@dataclass(slots=True)
class BacktestResult:
    records: list[BacktestRecord] = field(default_factory=list)
    symbols: list[SymbolStats] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def candles(self) -> int:
        return sum(s.candles for s in self.symbols)

    @property
    def signals(self) -> list[BacktestRecord]:
        return [r for r in self.records if r.passed]


def group_files(files: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Files by symbol (from the file name), in symbol order; one symbol may span many files."""
    groups: dict[str, list[Path]] = {}
    for f in files:
        p = Path(f)
        groups.setdefault(symbol_of(p), []).append(p)
    return dict(sorted(groups.items()))


def missing_minutes(open_time: np.ndarray) -> int:  # type: ignore[type-arg]
    if open_time.shape[0] < 2:
        return 0
    steps = np.diff(open_time) // MINUTE_MS
    return int(np.sum(steps[steps > 1] - 1))


@dataclass(frozen=True, slots=True)
class _SymbolPass:
    scored: list[ScoredEvent]
    performance: list[Performance]
    quote_volume: MinuteSeries


def _analyse_symbol(symbol: str, candles: CandleArrays, settings: StrategySettings) -> _SymbolPass:
    events = detect(symbol, candles, settings)
    idx = np.asarray([e.index for e in events], dtype=np.int64)
    figures = figures_at(candles, idx)
    zeros = [0] * len(events)
    scored = score_events(events, candles, figures, zeros, zeros, settings)
    signs = np.asarray([1.0 if e.type is EventType.BOS_UP else -1.0 for e in events])
    perf = evaluate_many(candles, idx, signs, settings.fee_pct)
    qv = MinuteSeries.build(candles.open_time, rolling_quote_volume(candles))
    return _SymbolPass(scored, [perf.row(k) for k in range(len(events))], qv)


def run_backtest(
    files: Sequence[str | Path], settings: StrategySettings, progress: Progress | None = None
) -> BacktestResult:
    """Replay kline files through detect -> score -> rank -> filter chain -> PnL; records in time order."""
    if settings.interval != "1m":
        raise ConfigError(f"INTERVAL={settings.interval!r} is invalid: the backtest replays 1m kline files")
    started = time.perf_counter()
    chain = FilterChain.from_settings(settings)
    groups = group_files(files)
    result = BacktestResult()
    series: dict[str, MinuteSeries] = {}
    pending: list[tuple[ScoredEvent, Performance]] = []
    for n, (symbol, paths) in enumerate(groups.items()):
        candles = concat([read_kline_file(p)[1] for p in paths])
        one = _analyse_symbol(symbol, candles, settings)
        series[symbol] = one.quote_volume
        pending.extend(zip(one.scored, one.performance, strict=True))
        result.symbols.append(
            SymbolStats(symbol, len(paths), len(candles), missing_minutes(candles.open_time), len(one.scored))
        )
        if progress is not None:
            progress(symbol, n + 1, len(groups))
    pending.sort(key=lambda p: (p[0].event.open_time, p[0].event.symbol, p[0].event.type.value))
    ranks, sizes = liquidity_ranks(
        series,
        [s.event.symbol for s, _ in pending],
        np.asarray([s.event.open_time for s, _ in pending], dtype=np.int64),
    )
    for k, (s, perf) in enumerate(pending):
        ranked = s.with_rank(int(ranks[k]), int(sizes[k]))
        result.records.append(BacktestRecord(ranked, tuple(chain.apply(ranked)), perf))
    result.seconds = time.perf_counter() - started
    return result
