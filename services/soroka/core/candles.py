"""Market-data domain types shared by every service: closed candles, 24h figures, symbols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed kline. Times are UTC milliseconds; prices are float64 parsed from Binance strings."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int

    def row(self) -> tuple[int, float, float, float, float, float, float, int]:
        return (
            self.open_time,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.quote_volume,
            self.trades,
        )


@dataclass(frozen=True, slots=True)
class CandleArrays:
    """Column arrays of one symbol's closed candles in time order: what the detector reads."""

    open_time: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    quote_volume: npt.NDArray[np.float64]
    trades: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    @classmethod
    def from_candles(cls, candles: Sequence[Candle]) -> CandleArrays:
        return cls.from_rows([c.row() for c in candles])

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[float | int]]) -> CandleArrays:
        n = len(rows)
        if n == 0:
            return cls.empty()
        ot = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        fl = np.array([r[1:7] for r in rows], dtype=np.float64).reshape(n, 6)
        tr = np.fromiter((r[7] for r in rows), dtype=np.int64, count=n)
        return cls(
            ot,
            fl[:, 0].copy(),
            fl[:, 1].copy(),
            fl[:, 2].copy(),
            fl[:, 3].copy(),
            fl[:, 4].copy(),
            fl[:, 5].copy(),
            tr,
        )

    @classmethod
    def empty(cls) -> CandleArrays:
        f = np.empty(0, dtype=np.float64)
        i = np.empty(0, dtype=np.int64)
        return cls(i, f, f, f, f, f, f, i)

    def candle(self, i: int) -> Candle:
        return Candle(
            int(self.open_time[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
            float(self.quote_volume[i]),
            int(self.trades[i]),
        )

    def slice(self, start: int, stop: int) -> CandleArrays:
        return CandleArrays(
            self.open_time[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
            self.quote_volume[start:stop],
            self.trades[start:stop],
        )


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """Binance's rolling 24h statistics of one symbol (or the same figures computed from candles)."""

    symbol: str
    last_price: float
    open_price: float
    high: float
    low: float
    volume: float
    quote_volume: float
    trade_count: int
    open_time: int
    close_time: int

    @property
    def volatility(self) -> float:
        """(high24 - low24) / low24, the MAX_VOLATILITY filter's input; infinite when low is 0."""
        return (self.high - self.low) / self.low if self.low > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A spot pair from exchangeInfo."""

    symbol: str
    status: str
    base_asset: str
    quote_asset: str
    spot_allowed: bool

    def tradable(self, quote_asset: str = "USDT") -> bool:
        return self.status == "TRADING" and self.quote_asset == quote_asset and self.spot_allowed
