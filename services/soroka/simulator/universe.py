"""The synthetic market's listing: symbol names, statuses, price grids and heavy-tailed liquidity.

Deterministic per seed. Liquidity is Pareto-distributed (a few symbols trade most of the volume) and the
top ~4% are guaranteed to clear the default MIN_LIQUIDITY_USDT (10M) and MIN_TRADE_COUNT (300k).
Every 50th symbol (from #20 on) is quoted in BTC, every 50th (offset) is in BREAK, every 100th is HALT
and every 97th has spot trading disabled, so universe filters have something to reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from soroka.core.candles import SymbolInfo
from soroka.simulator.noise import normal, uniform

_FAMOUS = (
    ("BTC", 60000.0), ("ETH", 3000.0), ("BNB", 600.0), ("SOL", 150.0), ("XRP", 0.6), ("DOGE", 0.15),
    ("ADA", 0.45), ("TRX", 0.12), ("LINK", 15.0), ("AVAX", 30.0), ("DOT", 6.5), ("LTC", 80.0),
    ("NEAR", 5.0), ("FIL", 4.5), ("ATOM", 8.0), ("APT", 9.0), ("ARB", 0.9), ("OP", 2.0),
)  # fmt: skip
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_S_NAME, _S_PRICE, _S_VOL, _S_SIZE, _S_SIGMA = 1, 2, 3, 4, 5


@dataclass(frozen=True, slots=True)
class Universe:
    """Per-symbol constants as columns (index = symbol number)."""

    infos: tuple[SymbolInfo, ...]
    p0: npt.NDArray[np.float64]  # starting price
    price_scale: npt.NDArray[np.float64]  # 10**price decimals
    qty_scale: npt.NDArray[np.float64]  # 10**quantity decimals
    daily_quote: npt.NDArray[np.float64]  # typical 24h quote volume
    trade_size: npt.NDArray[np.float64]  # typical quote value of one trade
    sigma: npt.NDArray[np.float64]  # typical one-minute log-return deviation

    def __len__(self) -> int:
        return len(self.infos)

    def tradable(self) -> npt.NDArray[np.int64]:
        return np.array([i for i, s in enumerate(self.infos) if s.tradable()], dtype=np.int64)


def _name(seed: int, i: int, taken: set[str]) -> str:
    if i < len(_FAMOUS):
        return _FAMOUS[i][0]
    for attempt in range(100):
        u = uniform(seed, _S_NAME, i, np.arange(5) + attempt * 5)
        length = 3 + int(u[0] * 3)
        name = "".join(_LETTERS[int(x * 26)] for x in u[1 : length + 1]) + ("X" if length > 4 else "")
        if name not in taken:
            return name
    return f"SIM{i}"


def _status(i: int) -> tuple[str, str, bool]:
    if i < 20:
        return "TRADING", "USDT", True
    return (
        "BREAK" if i % 50 == 13 else "HALT" if i % 100 == 29 else "TRADING",
        "BTC" if i % 50 == 7 else "USDT",
        i % 97 != 41,
    )


def make_universe(n: int, seed: int) -> Universe:
    if n < 1:
        raise ValueError("the market needs at least one symbol")
    idx = np.arange(n)
    infos: list[SymbolInfo] = []
    taken: set[str] = set()
    for i in range(n):
        base = _name(seed, i, taken)
        taken.add(base)
        status, quote, spot = _status(i)
        infos.append(SymbolInfo(base + quote, status, base, quote, spot))
    u_price = uniform(seed, _S_PRICE, idx, 0)
    p0 = np.exp(np.log(1e-3) + u_price * (np.log(5e4) - np.log(1e-3)))
    for i, (_, price) in enumerate(_FAMOUS[:n]):
        p0[i] = price
    mag = np.floor(np.log10(p0))
    price_scale = 10.0 ** np.clip(5 - mag, 2, 8)
    qty_scale = 10.0 ** np.clip(mag + 1, 0, 8)
    # Pareto(alpha=0.9) daily quote volumes, the largest given to the first symbols (the famous ones).
    vols = np.sort(np.minimum(3e5 * uniform(seed, _S_VOL, idx, 0) ** (-1 / 0.9), 3e9))[::-1].copy()
    top = max(1, math.ceil(n * 0.04))
    vols[:top] = np.maximum(vols[:top], 1.5e7 * (1 + np.arange(top, 0, -1) / top))
    # Bigger markets trade in bigger tickets; a 15M symbol still makes ~500k trades a day.
    trade_size = 25.0 * (np.maximum(vols, 1e7) / 1e7) ** 0.4 * np.exp(0.2 * normal(seed, _S_SIZE, idx, 0))
    sigma = np.clip(0.0007 * np.exp(0.35 * normal(seed, _S_SIGMA, idx, 0)), 0.0003, 0.002)
    return Universe(tuple(infos), p0, price_scale, qty_scale, vols, trade_size, sigma)
