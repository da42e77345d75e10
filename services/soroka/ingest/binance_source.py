"""The ingest's market-data source: the real Binance client (pointed at Binance or the simulator)."""

from __future__ import annotations

from soroka.binance import endpoints
from soroka.binance.http import BinanceHttpClient
from soroka.core.candles import Candle, SymbolInfo, Ticker24h
from soroka.core.settings import IngestSettings
from soroka.ingest.scheduling import ExchangeClock


class BinanceSource:
    """Implements the ingest's MarketData protocol and keeps the exchange clock in step."""

    def __init__(self, http: BinanceHttpClient, clock: ExchangeClock) -> None:
        self.http = http
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: IngestSettings, clock: ExchangeClock | None = None) -> BinanceSource:
        clock = clock or ExchangeClock()
        http = BinanceHttpClient(
            settings.binance_base_url,
            weight_budget=settings.weight_budget,
            timeout=settings.http_timeout,
            retries=settings.http_retries,
            max_concurrency=settings.max_concurrency,
            now_ms=clock.now_ms,
        )
        return cls(http, clock)

    async def server_time(self) -> int:
        t = await endpoints.server_time(self.http)
        self.clock.observe(self.clock.local(), t)
        return t

    async def exchange_info(self) -> list[SymbolInfo]:
        info = await endpoints.exchange_info(self.http)
        return info.to_domain()

    async def ticker_24hr(self) -> list[Ticker24h]:
        return await endpoints.ticker_24hr(self.http)

    async def klines(
        self, symbol: str, interval: str, *, start_time: int, limit: int, now_ms: int
    ) -> list[Candle]:
        return await endpoints.klines(
            self.http, symbol, interval, start_time=start_time, limit=limit, now_ms=now_ms
        )

    async def aclose(self) -> None:
        await self.http.aclose()
