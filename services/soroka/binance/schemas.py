"""Binance REST payloads as frozen typed objects that keep the wire names and convert to domain types.

Parsing happens once, at the edge: a payload either becomes these objects or raises BinancePayloadError
naming the field and what was found. Decimal strings are parsed with ``float()`` (correctly rounded).
Unknown extra fields are ignored, so Binance adding a field breaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from soroka.binance.errors import BinancePayloadError
from soroka.core.candles import Candle, SymbolInfo, Ticker24h


def _obj(v: object, what: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise BinancePayloadError(f"{what}: expected a JSON object, got {type(v).__name__}")
    return v


def _list(v: object, what: str) -> Sequence[Any]:
    if not isinstance(v, list):
        raise BinancePayloadError(f"{what}: expected a JSON array, got {type(v).__name__}")
    return v


def _field(d: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return d[key]
    except KeyError:
        raise BinancePayloadError(f"{what}: missing field {key!r}") from None


def _str(v: object, what: str) -> str:
    if not isinstance(v, str):
        raise BinancePayloadError(f"{what}: expected a string, got {v!r}")
    return v


def _int(v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise BinancePayloadError(f"{what}: expected an integer, got {v!r}")
    return v


def _bool(v: object, what: str) -> bool:
    if not isinstance(v, bool):
        raise BinancePayloadError(f"{what}: expected true/false, got {v!r}")
    return v


def _dec(v: object, what: str) -> float:
    """A Binance decimal string ("0.00123400") as float64."""
    if not isinstance(v, str):
        raise BinancePayloadError(f"{what}: expected a decimal string, got {v!r}")
    try:
        return float(v)
    except ValueError:
        raise BinancePayloadError(f"{what}: not a decimal: {v!r}") from None


@dataclass(frozen=True, slots=True)
class BinanceServerTime:
    serverTime: int

    @classmethod
    def parse(cls, payload: object) -> BinanceServerTime:
        d = _obj(payload, "time")
        return cls(_int(_field(d, "serverTime", "time"), "time.serverTime"))


@dataclass(frozen=True, slots=True)
class BinanceSymbol:
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    isSpotTradingAllowed: bool

    @classmethod
    def parse(cls, payload: object, where: str = "exchangeInfo.symbols[]") -> BinanceSymbol:
        d = _obj(payload, where)
        sym = _str(_field(d, "symbol", where), f"{where}.symbol")
        w = f"{where}({sym})"
        return cls(
            sym,
            _str(_field(d, "status", w), f"{w}.status"),
            _str(_field(d, "baseAsset", w), f"{w}.baseAsset"),
            _str(_field(d, "quoteAsset", w), f"{w}.quoteAsset"),
            _bool(_field(d, "isSpotTradingAllowed", w), f"{w}.isSpotTradingAllowed"),
        )

    def to_domain(self) -> SymbolInfo:
        return SymbolInfo(
            self.symbol, self.status, self.baseAsset, self.quoteAsset, self.isSpotTradingAllowed
        )


@dataclass(frozen=True, slots=True)
class BinanceRateLimit:
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int

    @classmethod
    def parse(cls, payload: object) -> BinanceRateLimit:
        w = "exchangeInfo.rateLimits[]"
        d = _obj(payload, w)
        return cls(
            _str(_field(d, "rateLimitType", w), f"{w}.rateLimitType"),
            _str(_field(d, "interval", w), f"{w}.interval"),
            _int(_field(d, "intervalNum", w), f"{w}.intervalNum"),
            _int(_field(d, "limit", w), f"{w}.limit"),
        )


@dataclass(frozen=True, slots=True)
class BinanceExchangeInfo:
    serverTime: int
    rateLimits: tuple[BinanceRateLimit, ...]
    symbols: tuple[BinanceSymbol, ...]

    @classmethod
    def parse(cls, payload: object) -> BinanceExchangeInfo:
        d = _obj(payload, "exchangeInfo")
        limits = _list(d.get("rateLimits", []), "exchangeInfo.rateLimits")
        symbols = _list(_field(d, "symbols", "exchangeInfo"), "exchangeInfo.symbols")
        return cls(
            _int(_field(d, "serverTime", "exchangeInfo"), "exchangeInfo.serverTime"),
            tuple(BinanceRateLimit.parse(x) for x in limits),
            tuple(BinanceSymbol.parse(x, f"exchangeInfo.symbols[{i}]") for i, x in enumerate(symbols)),
        )

    def weight_limit(self) -> int | None:
        """REQUEST_WEIGHT per one minute, if announced."""
        for r in self.rateLimits:
            if r.rateLimitType == "REQUEST_WEIGHT" and r.interval == "MINUTE" and r.intervalNum == 1:
                return r.limit
        return None

    def to_domain(self) -> list[SymbolInfo]:
        return [s.to_domain() for s in self.symbols]


@dataclass(frozen=True, slots=True)
class BinanceTicker24hr:
    """FULL and MINI tickers share these fields (MINI lacks the ones Soroka does not use)."""

    symbol: str
    openPrice: float
    highPrice: float
    lowPrice: float
    lastPrice: float
    volume: float
    quoteVolume: float
    openTime: int
    closeTime: int
    count: int

    @classmethod
    def parse(cls, payload: object, where: str = "ticker/24hr") -> BinanceTicker24hr:
        d = _obj(payload, where)
        sym = _str(_field(d, "symbol", where), f"{where}.symbol")
        w = f"{where}({sym})"
        return cls(
            sym,
            _dec(_field(d, "openPrice", w), f"{w}.openPrice"),
            _dec(_field(d, "highPrice", w), f"{w}.highPrice"),
            _dec(_field(d, "lowPrice", w), f"{w}.lowPrice"),
            _dec(_field(d, "lastPrice", w), f"{w}.lastPrice"),
            _dec(_field(d, "volume", w), f"{w}.volume"),
            _dec(_field(d, "quoteVolume", w), f"{w}.quoteVolume"),
            _int(_field(d, "openTime", w), f"{w}.openTime"),
            _int(_field(d, "closeTime", w), f"{w}.closeTime"),
            _int(_field(d, "count", w), f"{w}.count"),
        )

    @classmethod
    def parse_many(cls, payload: object) -> list[BinanceTicker24hr]:
        if isinstance(payload, Mapping):  # one symbol -> object
            return [cls.parse(payload)]
        return [cls.parse(x, f"ticker/24hr[{i}]") for i, x in enumerate(_list(payload, "ticker/24hr"))]

    @classmethod
    def parse_lenient(cls, payload: object) -> tuple[list[BinanceTicker24hr], list[BinancePayloadError]]:
        """All-symbols tickers: a malformed row is skipped (and reported), not the other symbols' rows."""
        if isinstance(payload, Mapping):
            return [cls.parse(payload)], []
        rows, errors = [], []
        for i, x in enumerate(_list(payload, "ticker/24hr")):
            try:
                rows.append(cls.parse(x, f"ticker/24hr[{i}]"))
            except BinancePayloadError as e:
                errors.append(e)
        if errors and not rows:
            raise errors[0]
        return rows, errors

    def to_domain(self) -> Ticker24h:
        return Ticker24h(
            self.symbol,
            self.lastPrice,
            self.openPrice,
            self.highPrice,
            self.lowPrice,
            self.volume,
            self.quoteVolume,
            self.count,
            self.openTime,
            self.closeTime,
        )


@dataclass(frozen=True, slots=True)
class BinanceKline:
    """One kline row ``[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, ...]``."""

    openTime: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    closeTime: int
    quoteVolume: float
    trades: int

    @classmethod
    def parse(cls, payload: object, where: str = "klines[]") -> BinanceKline:
        row = _list(payload, where)
        if len(row) < 9:
            raise BinancePayloadError(f"{where}: expected at least 9 columns, got {len(row)}")
        return cls(
            _int(row[0], f"{where}.openTime"),
            _dec(row[1], f"{where}.open"),
            _dec(row[2], f"{where}.high"),
            _dec(row[3], f"{where}.low"),
            _dec(row[4], f"{where}.close"),
            _dec(row[5], f"{where}.volume"),
            _int(row[6], f"{where}.closeTime"),
            _dec(row[7], f"{where}.quoteVolume"),
            _int(row[8], f"{where}.trades"),
        )

    @classmethod
    def parse_many(cls, payload: object) -> list[BinanceKline]:
        return [cls.parse(x, f"klines[{i}]") for i, x in enumerate(_list(payload, "klines"))]

    def to_domain(self) -> Candle:
        return Candle(
            self.openTime,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.quoteVolume,
            self.trades,
        )


@dataclass(frozen=True, slots=True)
class BinanceErrorBody:
    code: int
    msg: str

    @classmethod
    def parse(cls, payload: object) -> BinanceErrorBody | None:
        """The ``{"code": ..., "msg": ...}`` of an error response, or None when the body is something else."""
        if isinstance(payload, Mapping) and isinstance(payload.get("code"), int):
            return cls(int(payload["code"]), str(payload.get("msg", "")))
        return None
