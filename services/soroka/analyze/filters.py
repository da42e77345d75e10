"""Signal filters: the chain that turns a scored event into a signal, each verdict explaining itself.

Like freqtrade's pairlist chain: small filter classes, each built from its typed settings, declaring
the input it needs, resolved by name and validated at start. Every filter always runs, so an event is
stored with every filter it passed or failed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Self

from soroka.analyze.scoring import ScoredEvent
from soroka.core.settings import ConfigError, EventFilterType, FilterSettings

Need = Literal["event", "confidence", "figures24h"]


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    passed: bool
    reason: str


def human(x: float) -> str:
    """3_200_000 -> '3.2M': short numbers for verdict reasons."""
    if not math.isfinite(x):
        return str(x)
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


class EventFilter:
    """One link of the chain. Subclasses set `name` and `needs` and implement `from_settings`/`check`."""

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[Need]] = frozenset()

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        raise NotImplementedError

    def check(self, scored: ScoredEvent) -> Verdict:
        raise NotImplementedError

    def _verdict(self, passed: bool, reason: str) -> Verdict:
        return Verdict(self.name, passed, reason)


@dataclass(frozen=True, slots=True)
class EventTypeFilter(EventFilter):
    name: ClassVar[str] = "event_type"
    needs: ClassVar[frozenset[Need]] = frozenset({"event"})
    wanted: EventFilterType

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        return cls(settings.event_filter_type)

    def check(self, scored: ScoredEvent) -> Verdict:
        got = scored.event.type.value
        ok = self.wanted is EventFilterType.ANY or got == self.wanted.value
        op = "matches" if ok else "is not"
        return self._verdict(ok, f"type {got} {op} EVENT_FILTER_TYPE {self.wanted.value}")


@dataclass(frozen=True, slots=True)
class ConfidenceRangeFilter(EventFilter):
    name: ClassVar[str] = "confidence"
    needs: ClassVar[frozenset[Need]] = frozenset({"confidence"})
    low: float
    high: float

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        return cls(settings.confidence_min, settings.confidence_max)

    def check(self, scored: ScoredEvent) -> Verdict:
        c = scored.confidence.value
        if c < self.low:
            return self._verdict(False, f"confidence {c:.3f} < CONFIDENCE_MIN {self.low:g}")
        if c > self.high:
            return self._verdict(False, f"confidence {c:.3f} > CONFIDENCE_MAX {self.high:g}")
        return self._verdict(True, f"confidence {c:.3f} in [{self.low:g}, {self.high:g}]")


def _no_figures(f: EventFilter) -> Verdict:
    return Verdict(f.name, False, "24h figures unavailable (no ticker for the symbol)")


@dataclass(frozen=True, slots=True)
class LiquidityFilter(EventFilter):
    name: ClassVar[str] = "liquidity"
    needs: ClassVar[frozenset[Need]] = frozenset({"figures24h"})
    min_quote_volume: float

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        return cls(settings.min_liquidity_usdt)

    def check(self, scored: ScoredEvent) -> Verdict:
        if scored.figures24h is None:
            return _no_figures(self)
        qv = scored.figures24h.quote_volume
        ok = qv >= self.min_quote_volume
        op = ">=" if ok else "<"
        return self._verdict(
            ok, f"quote volume {human(qv)} {op} MIN_LIQUIDITY_USDT {human(self.min_quote_volume)}"
        )


@dataclass(frozen=True, slots=True)
class TradeCountFilter(EventFilter):
    name: ClassVar[str] = "trade_count"
    needs: ClassVar[frozenset[Need]] = frozenset({"figures24h"})
    min_trades: int

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        return cls(settings.min_trade_count)

    def check(self, scored: ScoredEvent) -> Verdict:
        if scored.figures24h is None:
            return _no_figures(self)
        n = scored.figures24h.trade_count
        ok = n >= self.min_trades
        op = ">=" if ok else "<"
        return self._verdict(ok, f"trade count {n:,} {op} MIN_TRADE_COUNT {self.min_trades:,}")


@dataclass(frozen=True, slots=True)
class VolatilityFilter(EventFilter):
    name: ClassVar[str] = "volatility"
    needs: ClassVar[frozenset[Need]] = frozenset({"figures24h"})
    max_volatility: float

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Self:
        return cls(settings.max_volatility)

    def check(self, scored: ScoredEvent) -> Verdict:
        if scored.figures24h is None:
            return _no_figures(self)
        vol = scored.figures24h.volatility
        ok = vol <= self.max_volatility
        op = "<=" if ok else ">"
        return self._verdict(ok, f"volatility {vol:.4f} {op} MAX_VOLATILITY {self.max_volatility:g}")


FILTERS: dict[str, type[EventFilter]] = {
    f.name: f
    for f in (EventTypeFilter, ConfidenceRangeFilter, LiquidityFilter, TradeCountFilter, VolatilityFilter)
}
DEFAULT_CHAIN: tuple[str, ...] = tuple(FILTERS)


@dataclass(frozen=True, slots=True)
class FilterChain:
    filters: tuple[EventFilter, ...]

    @classmethod
    def from_settings(cls, settings: FilterSettings, names: Sequence[str] = DEFAULT_CHAIN) -> FilterChain:
        """Resolve the chain by filter name; an unknown name is a configuration error."""
        unknown = [n for n in names if n not in FILTERS]
        if unknown:
            raise ConfigError(f"unknown filter {unknown[0]!r} (known: {', '.join(FILTERS)})")
        return cls(tuple(FILTERS[n].from_settings(settings) for n in names))

    @property
    def needs(self) -> frozenset[Need]:
        return frozenset().union(*(f.needs for f in self.filters))

    def apply(self, scored: ScoredEvent) -> list[Verdict]:
        return [f.check(scored) for f in self.filters]


def passed(verdicts: Sequence[Verdict]) -> bool:
    return all(v.passed for v in verdicts)


def failed_names(verdicts: Sequence[Verdict]) -> list[str]:
    return [v.name for v in verdicts if not v.passed]
