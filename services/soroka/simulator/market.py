"""The synthetic market: any number of symbols, random-walk candles generated lazily, planted breakouts.

Each symbol's log price is a random walk whose one-minute steps are hashed from (seed, symbol, minute)
(see noise.py), scaled by a per-symbol volatility and a volatility regime that changes every 4 hours.
The walk's value at each hour start is kept (one float per symbol and hour), so any hour of any
symbol can be generated alone and is identical on every request. Prices sit on a per-symbol tick grid.
Planted breakouts (planting.py) are scheduled per hour from the same seed; after one, the walk
continues from the breakout close. Nothing before ``epoch`` (``history_minutes`` before the start) exists.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from soroka.core.candles import CandleArrays, SymbolInfo
from soroka.simulator.interface import MINUTE_MS, TickerTable, drop_gaps, window_minutes
from soroka.simulator.noise import normal, uniform
from soroka.simulator.planting import WINDOW, Breakout, build
from soroka.simulator.universe import make_universe

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
HOUR_MS = 3_600_000
_S_RET, _S_REGIME, _S_HIGH, _S_LOW, _S_VOL, _S_TRADES, _S_PLANT = 10, 11, 12, 13, 14, 15, 16


@dataclass(frozen=True, slots=True)
class _Plant:
    sym: int
    t: int  # epoch minute of the breakout candle
    shift: float  # log offset added to the walk from t on
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64
    truth: Breakout


@dataclass(frozen=True, slots=True)
class _Block:
    """One hour of candles for a set of symbols: (symbols, 60) arrays."""

    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    quote_volume: F64
    trades: I64


class SyntheticMarket:
    def __init__(
        self,
        n_symbols: int,
        *,
        seed: int = 1,
        start_ms: int,
        history_minutes: int = 2 * 1440,
        breakouts_per_hour: float = 6.0,
    ) -> None:
        self.seed = seed
        self.u = make_universe(n_symbols, seed)
        self._index = {s.symbol: i for i, s in enumerate(self.u.infos)}
        self.epoch_hour = start_ms // HOUR_MS - math.ceil(history_minutes / 60)
        self.breakouts_per_hour = breakouts_per_hour
        self._anchors: list[F64] = [np.log(self.u.p0)]  # walk at the start of epoch_hour + k
        self._plants: dict[int, list[_Plant]] = {}
        self._plant_hours: list[list[_Plant]] = []
        self._gaps: dict[int, set[int]] = {}
        self._blocks: OrderedDict[int, _Block] = OrderedDict()
        self._sums: OrderedDict[int, tuple[F64, F64, I64, F64, F64]] = OrderedDict()
        self._qbase = self.u.daily_quote / 1440 / 1.4  # the volume noise below averages ~1.4
        tradable = self.u.tradable()
        self._tradable = tradable
        by_liq = tradable[np.argsort(-self.u.daily_quote[tradable], kind="stable")]
        self._liquid = by_liq[: max(1, len(by_liq) // 10)]
        self._all = np.arange(len(self.u), dtype=np.int64)

    # -- listing ---------------------------------------------------------------------------------
    def listings(self) -> Sequence[SymbolInfo]:
        return self.u.infos

    def index(self, symbol: str) -> int | None:
        return self._index.get(symbol)

    @property
    def epoch_ms(self) -> int:
        return self.epoch_hour * HOUR_MS

    # -- the walk --------------------------------------------------------------------------------
    def _sigma(self, syms: I64, hour: int) -> F64:
        u = uniform(self.seed, _S_REGIME, syms, hour // 4)
        regime = np.where(u < 0.5, 0.6, np.where(u < 0.85, 1.0, 2.2))
        return np.asarray(self.u.sigma[syms] * regime, dtype=np.float64)

    def _returns(self, syms: I64, hour: int, sig: F64) -> F64:
        minutes = np.arange(hour * 60, hour * 60 + 60, dtype=np.int64)
        return sig[:, None] * normal(self.seed, _S_RET, syms[:, None], minutes[None, :])

    def _ensure(self, hour: int) -> None:
        """Extend anchors and planted breakouts through ``hour`` (inclusive), in time order."""
        while len(self._plant_hours) <= hour - self.epoch_hour:
            h = self.epoch_hour + len(self._plant_hours)
            anchor = self._anchors[-1]
            cs = np.cumsum(self._returns(self._all, h, self._sigma(self._all, h)), axis=1)
            self._plant_hours.append(self._schedule(h, anchor, cs))
            self._anchors.append(anchor + cs[:, -1])

    def _schedule(self, h: int, anchor: F64, cs: F64) -> list[_Plant]:
        if h == self.epoch_hour or len(self._tradable) == 0:
            return []
        rate = self.breakouts_per_hour
        count = int(rate) + int(uniform(self.seed, _S_PLANT, h, 0)[0] < rate - int(rate))
        planted: list[_Plant] = []
        for j in range(count):
            u = uniform(self.seed, _S_PLANT + 1, h, np.arange(4) + 4 * j)
            pool = self._liquid if u[0] < 0.5 else self._tradable
            s = int(pool[int(u[1] * len(pool))])
            if any(p.sym == s for p in planted):
                continue
            plant = self._plant(s, h * 60 + 15 + int(u[2] * 45), bool(u[3] < 0.5), anchor, cs)
            if plant is not None:
                planted.append(plant)
                self._plants.setdefault(s, []).append(plant)
        return planted

    def _plant(self, s: int, t: int, up: bool, anchor: F64, cs: F64) -> _Plant | None:
        h0 = (t // 60) * 60
        prior = self._plants.get(s)
        shift0 = prior[-1].shift if prior else 0.0
        scale, qscale = float(self.u.price_scale[s]), float(self.u.qty_scale[s])
        p = round(math.exp(float(anchor[s] + cs[s, t - 10 - h0]) + shift0) * scale)
        if p < 2000:  # too few ticks to draw the pattern
            return None
        base_volume = max(10, round(self._qbase[s] / (p / scale) * qscale))
        pat = build(p, up, base_volume)
        close = float(pat.close[-1]) / scale
        o, hi, lo = float(pat.open[-1]) / scale, float(pat.high[-1]) / scale, float(pat.low[-1]) / scale
        vols = pat.volume / qscale
        truth = Breakout(
            self.u.infos[s].symbol,
            "BOS_UP" if up else "BOS_DOWN",
            t * MINUTE_MS,
            (t - 5) * MINUTE_MS,
            pat.level / scale,
            close,
            float(vols[-1] / (sum(float(v) for v in vols[-6:-1]) / 5)),
            abs(close - o) / (hi - lo),
        )
        shift = math.log(close) - float(anchor[s] + cs[s, t - h0])
        return _Plant(s, t, shift, pat.open, pat.high, pat.low, pat.close, pat.volume, truth)

    def _offsets(self, syms: I64, hour: int) -> tuple[F64, F64, list[tuple[int, _Plant]]]:
        """Per-minute log offsets from earlier breakouts, and the plants whose window is in this hour."""
        off = np.zeros((len(syms), 60))
        prev = np.zeros(len(syms))
        patches: list[tuple[int, _Plant]] = []
        m0 = hour * 60
        rows = range(len(syms)) if len(syms) < len(self._plants) else [
            r for r in range(len(syms)) if int(syms[r]) in self._plants
        ]  # fmt: skip
        for row in rows:
            plist = self._plants.get(int(syms[row]))
            if not plist:
                continue
            i = bisect_right([p.t for p in plist], m0 - 1)
            cur = plist[i - 1].shift if i else 0.0
            prev[row] = cur
            col = 0
            for p in plist[i:]:
                if p.t >= m0 + 60:
                    break
                off[row, col : p.t - m0] = cur
                col, cur = p.t - m0, p.shift
                patches.append((row, p))
            off[row, col:] = cur
        return off, prev, patches

    def _block(self, syms: I64, hour: int) -> _Block:
        self._ensure(hour)
        sig = self._sigma(syms, hour)
        anchor = self._anchors[hour - self.epoch_hour][syms]
        logc = anchor[:, None] + np.cumsum(self._returns(syms, hour, sig), axis=1)
        off, prev_off, patches = self._offsets(syms, hour)
        scale = self.u.price_scale[syms][:, None]
        qscale = self.u.qty_scale[syms][:, None]
        ck = np.rint(np.exp(logc + off) * scale)
        pk = np.rint(np.exp(anchor + prev_off) * scale[:, 0])
        ok = np.concatenate([pk[:, None], ck[:, :-1]], axis=1)
        top, bot = np.maximum(ok, ck), np.minimum(ok, ck)
        minutes = np.arange(hour * 60, hour * 60 + 60, dtype=np.int64)[None, :]
        cells = (self.seed, syms[:, None], minutes)
        e = sig[:, None] * 0.5
        hk = top + np.rint(top * e * -np.log(uniform(cells[0], _S_HIGH, cells[1], cells[2])))
        lk = np.maximum(1.0, bot - np.rint(bot * e * -np.log(uniform(cells[0], _S_LOW, cells[1], cells[2]))))
        noise = np.exp(0.6 * normal(cells[0], _S_VOL, cells[1], cells[2]) - 0.18)
        qv = (
            self._qbase[syms][:, None]
            * noise
            * (1 + 0.5 * np.abs(np.log(np.maximum(ck, 1) / np.maximum(ok, 1))) / e)
        )
        vk = np.maximum(1.0, np.rint(qv / ((ok + hk + lk + ck) / 4 / scale) * qscale))
        for row, p in patches:
            c0 = p.t - hour * 60 - WINDOW + 1
            for arr, src in ((ok, p.open), (hk, p.high), (lk, p.low), (ck, p.close), (vk, p.volume)):
                arr[row, c0 : c0 + WINDOW] = src
        o, hi, lo, c = ok / scale, hk / scale, lk / scale, ck / scale
        vol = vk / qscale
        quote = np.rint(vol * (o + hi + lo + c) / 4 * 1e4) / 1e4
        tn = np.exp(0.2 * normal(cells[0], _S_TRADES, cells[1], cells[2]))
        trades = np.maximum(1, np.rint(quote / self.u.trade_size[syms][:, None] * tn)).astype(np.int64)
        return _Block(o, hi, lo, c, vol, quote, trades)

    # -- queries ---------------------------------------------------------------------------------
    def candles(self, symbol: str, first_ms: int, last_ms: int) -> CandleArrays:
        s = self._index.get(symbol)
        m0 = max(-(-first_ms // MINUTE_MS), self.epoch_hour * 60)
        m1 = last_ms // MINUTE_MS
        if s is None or m1 < m0:
            return CandleArrays.empty()
        parts: list[list[npt.NDArray[np.float64] | npt.NDArray[np.int64]]] = []
        syms = np.array([s], dtype=np.int64)
        for hour in range(m0 // 60, m1 // 60 + 1):
            b = self._block(syms, hour)
            lo, hi = max(m0, hour * 60) - hour * 60, min(m1, hour * 60 + 59) - hour * 60 + 1
            ot = (np.arange(lo, hi, dtype=np.int64) + hour * 60) * MINUTE_MS
            parts.append(
                [
                    ot,
                    *(
                        col[0, lo:hi]
                        for col in (b.open, b.high, b.low, b.close, b.volume, b.quote_volume, b.trades)
                    ),
                ]
            )
        cols = [np.concatenate([p[i] for p in parts]) for i in range(8)]
        return drop_gaps(CandleArrays(*cols), self._gaps.get(s))  # type: ignore[arg-type]

    def _all_block(self, hour: int) -> _Block:
        if hour in self._blocks:
            self._blocks.move_to_end(hour)
            return self._blocks[hour]
        b = self._blocks[hour] = self._block(self._all, hour)
        if len(self._blocks) > 3:
            self._blocks.popitem(last=False)
        return b

    def _hour_sums(self, hour: int) -> tuple[F64, F64, I64, F64, F64]:
        if hour not in self._sums:
            b = self._block(self._all, hour) if hour not in self._blocks else self._blocks[hour]
            self._sums[hour] = (
                b.volume.sum(1),
                b.quote_volume.sum(1),
                b.trades.sum(1),
                b.high.max(1),
                b.low.min(1),
            )
            if len(self._sums) > 72:
                self._sums.popitem(last=False)
        return self._sums[hour]

    def ticker(self, now_ms: int) -> TickerTable:
        """Rolling 24h over the last 1440 closed minutes; gaps are ignored (they only hide klines)."""
        a, b = window_minutes(now_ms)
        a = max(a, self.epoch_hour * 60)
        n = len(self.u)
        if b < a:
            z = np.zeros(n)
            return TickerTable(z, z, z, z, z, z, z, np.zeros(n, dtype=np.int64), a * MINUTE_MS, now_ms)
        ha, hb = a // 60, b // 60
        ba, bb = self._all_block(ha), self._all_block(hb)
        ia, ib = a - ha * 60, b - hb * 60 + 1
        edges = [(ba, ia, ib)] if ha == hb else [(ba, ia, 60), (bb, 0, ib)]
        vol, quote, trades = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
        high, low = np.full(n, -np.inf), np.full(n, np.inf)
        for blk, i, j in edges:
            vol += blk.volume[:, i:j].sum(1)
            quote += blk.quote_volume[:, i:j].sum(1)
            trades += blk.trades[:, i:j].sum(1)
            high, low = np.maximum(high, blk.high[:, i:j].max(1)), np.minimum(low, blk.low[:, i:j].min(1))
        for hour in range(ha + 1, hb):
            v, q, t, hh, ll = self._hour_sums(hour)
            vol, quote, trades, high, low = (
                vol + v,
                quote + q,
                trades + t,
                np.maximum(high, hh),
                np.minimum(low, ll),
            )
        open_ = ba.open[:, ia]
        return TickerTable(
            open_,
            high,
            low,
            bb.close[:, ib - 1],
            open_,
            vol,
            quote,
            trades,
            a * MINUTE_MS,
            b * MINUTE_MS + MINUTE_MS - 1,
        )

    def breakouts(self, until_ms: int) -> list[Breakout]:
        """Planted breakouts whose candle has closed by ``until_ms``, oldest first."""
        self._ensure(until_ms // HOUR_MS)
        return [
            p.truth for hour in self._plant_hours for p in hour if p.truth.open_time + MINUTE_MS <= until_ms
        ]

    def add_gap(self, symbol: str, open_time_ms: int) -> None:
        s = self._index.get(symbol)
        if s is None:
            raise KeyError(symbol)
        self._gaps.setdefault(s, set()).add(open_time_ms - open_time_ms % MINUTE_MS)
