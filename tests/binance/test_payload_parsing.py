"""Parsing recorded Binance payloads into typed schemas and domain objects; malformed ones are refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shared_paths import RESOURCES
from soroka.binance.errors import BinancePayloadError
from soroka.binance.schemas import (
    BinanceErrorBody,
    BinanceExchangeInfo,
    BinanceKline,
    BinanceServerTime,
    BinanceTicker24hr,
)
from soroka.core.candles import Candle

DIR = RESOURCES / "binance"


def load(name: str) -> Any:
    return json.loads((DIR / name).read_text())


def test_exchange_info_gives_symbols_statuses_and_weight_limit() -> None:
    info = BinanceExchangeInfo.parse(load("exchange_info.json"))
    assert info.weight_limit() == 6000
    symbols = info.to_domain()
    assert [s.symbol for s in symbols] == ["BTCUSDT", "ETHBTC", "LUNAUSDT", "XYZUSDT"]
    assert [s.symbol for s in symbols if s.tradable()] == ["BTCUSDT"]
    assert symbols[1].quote_asset == "BTC" and symbols[2].status == "BREAK" and not symbols[3].spot_allowed


def test_ticker_array_and_single_object_parse_to_domain_figures() -> None:
    tickers = [t.to_domain() for t in BinanceTicker24hr.parse_many(load("ticker_24hr.json"))]
    btc = tickers[0]
    assert (btc.symbol, btc.last_price, btc.quote_volume, btc.trade_count) == (
        "BTCUSDT",
        109075.69,
        1322301234.56789012,
        2345679,
    )
    assert btc.volatility == pytest.approx((110654.12 - 108500.0) / 108500.0)
    assert tickers[2].trade_count == 0
    mini = BinanceTicker24hr.parse_many(load("ticker_24hr_mini_one.json"))
    assert len(mini) == 1 and mini[0].to_domain() == btc


def test_klines_parse_to_candles() -> None:
    rows = BinanceKline.parse_many(load("klines.json"))
    assert rows[1].closeTime == 1756684799999
    assert rows[1].to_domain() == Candle(
        1756684740000, 109130.55, 109140.0, 109060.1, 109075.69, 10.54321, 1150012.99876, 1877
    )


def test_empty_arrays_are_valid() -> None:
    assert BinanceKline.parse_many([]) == []
    assert BinanceTicker24hr.parse_many([]) == []
    info = load("exchange_info.json") | {"symbols": []}
    assert BinanceExchangeInfo.parse(info).symbols == ()


def test_extra_fields_are_tolerated() -> None:
    info = load("exchange_info.json")
    info["symbols"][0]["brandNewField"] = {"x": 1}
    info["newTopLevel"] = []
    assert BinanceExchangeInfo.parse(info).symbols[0].symbol == "BTCUSDT"
    row = [*load("klines.json")[0], "extra"]
    assert BinanceKline.parse(row).trades == 1523
    assert BinanceServerTime.parse({"serverTime": 5, "x": 1}).serverTime == 5


def _broken(name: str, edit: Any) -> Any:
    payload = copy.deepcopy(load(name))
    edit(payload)
    return payload


@pytest.mark.parametrize(
    ("parse", "payload", "message"),
    [
        (
            BinanceExchangeInfo.parse,
            _broken("exchange_info.json", lambda p: p.pop("symbols")),
            "missing field 'symbols'",
        ),
        (
            BinanceExchangeInfo.parse,
            _broken("exchange_info.json", lambda p: p["symbols"][2].pop("status")),
            r"symbols\[2\]\(LUNAUSDT\): missing field 'status'",
        ),
        (
            BinanceExchangeInfo.parse,
            _broken("exchange_info.json", lambda p: p["symbols"][0].update(isSpotTradingAllowed="yes")),
            "expected true/false",
        ),
        (BinanceExchangeInfo.parse, [], "expected a JSON object"),
        (
            BinanceTicker24hr.parse_many,
            _broken("ticker_24hr.json", lambda p: p[0].update(lastPrice=109075.69)),
            r"\(BTCUSDT\).lastPrice: expected a decimal string",
        ),
        (
            BinanceTicker24hr.parse_many,
            _broken("ticker_24hr.json", lambda p: p[1].update(quoteVolume="abc")),
            "not a decimal",
        ),
        (
            BinanceTicker24hr.parse_many,
            _broken("ticker_24hr.json", lambda p: p[1].update(count="12")),
            "count: expected an integer",
        ),
        (BinanceTicker24hr.parse_many, "oops", "expected a JSON array"),
        (
            BinanceKline.parse_many,
            _broken("klines.json", lambda p: p[0].__setitem__(0, "1756684680000")),
            r"klines\[0\].openTime: expected an integer",
        ),
        (
            BinanceKline.parse_many,
            _broken("klines.json", lambda p: p[2].__setitem__(8, True)),
            r"klines\[2\].trades",
        ),
        (BinanceKline.parse_many, [[1, "2"]], "at least 9 columns"),
        (BinanceKline.parse_many, {"code": -1121}, "expected a JSON array"),
        (BinanceServerTime.parse, {}, "missing field 'serverTime'"),
    ],
)
def test_malformed_payloads_raise_payload_errors_naming_the_field(
    parse: Any, payload: Any, message: str
) -> None:
    with pytest.raises(BinancePayloadError, match=message):
        parse(payload)


def test_error_bodies_parse() -> None:
    assert BinanceErrorBody.parse(load("error_invalid_symbol.json")) == BinanceErrorBody(
        -1121, "Invalid symbol."
    )
    assert BinanceErrorBody.parse(load("error_too_many_requests.json")).code == -1003  # type: ignore[union-attr]
    assert BinanceErrorBody.parse(["not", "an", "error"]) is None
