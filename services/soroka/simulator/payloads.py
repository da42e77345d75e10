"""Rendering the simulator's data in Binance's wire shapes: decimals as strings, times and counts as numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from soroka.core.candles import CandleArrays, SymbolInfo
from soroka.simulator.interface import MINUTE_MS, TickerTable

REQUEST_WEIGHT_LIMIT = 6000


def dec(x: float) -> str:
    """Binance prints prices and quantities with 8 decimals."""
    return f"{x:.8f}"


def partial(a: CandleArrays, now_ms: int) -> CandleArrays:
    """The last candle as seen ``now`` while it is still open: its path and volume revealed pro rata."""
    if len(a) == 0 or a.open_time[-1] + MINUTE_MS <= now_ms:
        return a
    f = max(0.0, min(1.0, (now_ms - int(a.open_time[-1])) / MINUTE_MS))
    o, c = float(a.open[-1]), float(a.close[-1])
    cp = o + (c - o) * f
    hp = max(o, cp) + (float(a.high[-1]) - max(o, c)) * f
    lp = min(o, cp) - (min(o, c) - float(a.low[-1])) * f
    cols = [np.array(col, copy=True) for col in (a.open, a.high, a.low, a.close, a.volume, a.quote_volume)]
    for col, v in zip(
        cols, (o, hp, lp, cp, float(a.volume[-1]) * f, float(a.quote_volume[-1]) * f), strict=True
    ):
        col[-1] = round(v, 8)
    trades = a.trades.copy()
    trades[-1] = int(trades[-1] * f)
    o_, h_, l_, c_, v_, q_ = cols
    return CandleArrays(a.open_time, o_, h_, l_, c_, v_, q_, trades)


def kline_rows(a: CandleArrays, interval_ms: int) -> list[list[Any]]:
    rows = []
    for i in range(len(a)):
        ot, v, q = int(a.open_time[i]), float(a.volume[i]), float(a.quote_volume[i])
        rows.append(
            [
                ot,
                dec(float(a.open[i])),
                dec(float(a.high[i])),
                dec(float(a.low[i])),
                dec(float(a.close[i])),
                dec(v),
                ot + interval_ms - 1,
                dec(q),
                int(a.trades[i]),
                dec(v * 0.5),
                dec(q * 0.5),
                "0",
            ]
        )
    return rows


def ticker_rows(
    t: TickerTable, infos: Sequence[SymbolInfo], idx: Sequence[int], full: bool
) -> list[dict[str, Any]]:
    out = []
    for i in idx:
        last, opn, n = float(t.last[i]), float(t.open[i]), int(t.count[i])
        vol, quote = float(t.volume[i]), float(t.quote_volume[i])
        first_id = (t.open_time // MINUTE_MS) * 1000 + i if n else -1
        row: dict[str, Any] = {"symbol": infos[i].symbol}
        if full:
            row |= {
                "priceChange": dec(last - opn),
                "priceChangePercent": f"{(last - opn) / opn * 100 if opn else 0.0:.3f}",
                "weightedAvgPrice": dec(quote / vol if vol else 0.0),
                "prevClosePrice": dec(float(t.prev_close[i])),
                "lastPrice": dec(last),
                "lastQty": dec(vol / n if n else 0.0),
                "bidPrice": dec(last),
                "bidQty": dec(1.0),
                "askPrice": dec(last),
                "askQty": dec(1.0),
            }
        else:
            row["lastPrice"] = dec(last)
        row |= {
            "openPrice": dec(opn),
            "highPrice": dec(float(t.high[i]) if n else 0.0),
            "lowPrice": dec(float(t.low[i]) if n else 0.0),
            "volume": dec(vol),
            "quoteVolume": dec(quote),
            "openTime": t.open_time,
            "closeTime": t.close_time,
            "firstId": first_id,
            "lastId": first_id + n - 1 if n else -1,
            "count": n,
        }
        out.append(row)
    return out


def symbol_entry(s: SymbolInfo) -> dict[str, Any]:
    return {
        "symbol": s.symbol,
        "status": s.status,
        "baseAsset": s.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": s.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": s.spot_allowed,
        "isMarginTradingAllowed": False,
        "filters": [],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: Sequence[SymbolInfo], now_ms: int, weight_limit: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_entry(s) for s in symbols],
    }
