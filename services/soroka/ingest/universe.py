"""Choosing the scanned universe: TRADING spot pairs of the quote asset, ranked by 24h quote volume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from soroka.core.candles import SymbolInfo, Ticker24h


@dataclass(frozen=True, slots=True)
class Universe:
    symbols: tuple[str, ...]  # highest 24h quote volume first
    ranks: dict[str, int]  # 1 = most liquid among all tradable pairs of the quote asset
    tradable: int  # how many pairs were eligible

    def __len__(self) -> int:
        return len(self.symbols)


def select_universe(
    infos: Sequence[SymbolInfo],
    tickers: Sequence[Ticker24h],
    size: int | Literal["all"],
    quote_asset: str = "USDT",
) -> Universe:
    eligible = {i.symbol for i in infos if i.tradable(quote_asset)}
    ranked = sorted((t for t in tickers if t.symbol in eligible), key=lambda t: (-t.quote_volume, t.symbol))
    ranks = {t.symbol: n for n, t in enumerate(ranked, 1)}
    chosen = ranked if size == "all" else ranked[:size]
    return Universe(tuple(t.symbol for t in chosen), ranks, len(ranked))


def rank_tickers(universe: Universe, tickers: Sequence[Ticker24h]) -> dict[str, int]:
    """Liquidity ranks of this minute's tickers within the eligible set (the universe's symbols first)."""
    members = set(universe.ranks)
    ranked = sorted((t for t in tickers if t.symbol in members), key=lambda t: (-t.quote_volume, t.symbol))
    return {t.symbol: n for n, t in enumerate(ranked, 1)}
