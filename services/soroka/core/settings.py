"""Configuration models: the single source for every service's `.env`, the Strategy CRD and the docs.

Fields are grouped into small models (detector, filter, risk, outputs, universe, ...). Each
service's settings class composes the groups it needs. Every field carries its group in
``json_schema_extra`` so the CRD generator and the configuration reference can walk them.
Importing this module has no side effects: nothing reads the environment until a model is built.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keys of the product's default configuration that may change while a service runs.
INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
}


class EventType(enum.StrEnum):
    BOS_UP = "BOS_UP"
    BOS_DOWN = "BOS_DOWN"


class EventFilterType(enum.StrEnum):
    BOS_UP = "BOS_UP"
    BOS_DOWN = "BOS_DOWN"
    ANY = "ANY"


class ConfigError(Exception):
    """A configuration value is invalid: the service must stop at start with this one line."""


def _f(group: str, default: Any, description: str, *, hot: bool = True, **kw: Any) -> Any:
    """A settings field tagged with its group; ``hot`` fields may be reloaded without a restart."""
    return Field(default, description=description, json_schema_extra={"group": group, "hot": hot}, **kw)


class CandleSettings(BaseModel):
    """Which candles are read and how many travel with each candles message."""

    interval: Literal["1m", "3m", "5m", "15m", "30m", "1h"] = _f(
        "detector", "1m", "Candle interval analysed (Binance kline interval).", hot=False
    )
    candle_window: int = _f(
        "detector",
        240,
        "Closed candles carried per candles message (the analyzer's causal window).",
        ge=20,
        le=2000,
        hot=False,
    )

    @property
    def interval_ms(self) -> int:
        return INTERVAL_MS[self.interval]


class DetectorSettings(CandleSettings):
    """Break-of-Structure detection rules (DETECTION.md: L, M, S, V, B, G)."""

    lookback: int = _f("detector", 3, "L: candles on each side that define a swing point.", ge=1, le=50)
    min_candles: int = _f(
        "detector", 5, "M: candles averaged for the volume ratio; also the minimum history.", ge=1, le=500
    )
    bos_strength_threshold: float = _f(
        "detector", 1.006, "S: a close must clear the level by this factor (close >= H*S).", ge=1.0, le=2.0
    )
    min_volume_multiplier: float = _f(
        "detector", 1.3, "V: the breakout candle's volume over the mean of the previous M.", ge=0.0, le=1000.0
    )
    require_body_ratio: float = _f(
        "detector", 0.6, "B: minimum |close-open|/(high-low) of the breakout candle.", ge=0.0, le=1.0
    )
    min_event_interval_minutes: int = _f(
        "detector", 2, "G: minutes between two emitted events of one symbol and type.", ge=0, le=10_080
    )


class FilterSettings(BaseModel):
    """Rules that turn a detected event into a signal."""

    event_filter_type: EventFilterType = _f(
        "filter", EventFilterType.BOS_UP, "Event type that becomes a signal."
    )
    confidence_min: float = _f("filter", 0.45, "Lowest confidence that becomes a signal.", ge=0.0, le=1.0)
    confidence_max: float = _f("filter", 0.80, "Highest confidence that becomes a signal.", ge=0.0, le=1.0)
    min_liquidity_usdt: float = _f(
        "filter", 10_000_000, "Minimum 24h quote volume (USDT) of the symbol.", ge=0.0, le=1e13
    )
    max_volatility: float = _f(
        "filter", 0.25, "Maximum 24h volatility (high24-low24)/low24.", gt=0.0, le=100.0
    )
    min_trade_count: int = _f("filter", 300_000, "Minimum 24h trade count of the symbol.", ge=0, le=10**10)

    @model_validator(mode="after")
    def _confidence_range(self) -> FilterSettings:
        if self.confidence_min > self.confidence_max:
            raise ValueError(
                f"CONFIDENCE_MIN={self.confidence_min} must be <= CONFIDENCE_MAX={self.confidence_max}"
            )
        return self


class FeeSettings(BaseModel):
    """Trading fees (net PnL in the evaluator, fills in the paper trader)."""

    fee_pct: float = _f("risk", 0.001, "Taker fee per side as a fraction (0.001 = 0.1%).", ge=0.0, le=0.05)


class RiskSettings(FeeSettings):
    """Position sizing and exits for trading bots (the paper trader applies them)."""

    allocation_pct: float = _f(
        "risk", 0.50, "Share of the balance put in one position (0..1].", gt=0.0, le=1.0
    )
    stoploss_pct: float = _f(
        "risk", 0.08, "Adverse price move (fraction of entry) that closes a position.", gt=0.0, lt=1.0
    )
    leverage: int = _f("risk", 1, "Leverage applied to the allocated margin.", ge=1, le=125)
    trade_time: int = _f("risk", 90, "Minutes after which an open position is closed.", ge=1, le=10_080)


class SignalAgeSettings(BaseModel):
    """How old a signal may be when acted on (posted, traded)."""

    max_signal_age: int = _f(
        "outputs", 60, "Seconds after the candle close when a signal is too old to act on.", ge=1, le=86_400
    )


class OutputSettings(SignalAgeSettings):
    """Where signals go and how old they may be."""

    trade_queue_name: str = _f(
        "outputs",
        "trade_bot_queue",
        "Redis stream key of the trade queue read by trading bots.",
        hot=False,  # the trader's consumer group is bound to it: both ends change together at a restart
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_:.\-]+$",
    )


class UniverseSettings(BaseModel):
    """Which pairs are scanned."""

    universe_size: int | Literal["all"] = _f(
        "universe", 150, "Top N TRADING USDT spot pairs by 24h quote volume, or 'all'.", hot=False
    )
    quote_asset: str = _f(
        "universe", "USDT", "Quote asset of the scanned pairs.", hot=False, pattern=r"^[A-Z0-9]{2,10}$"
    )
    retention_days: int = _f(
        "universe",
        0,
        "Days of candles and ticker snapshots kept in Postgres (0 keeps everything).",
        ge=0,
        le=36_500,
    )
    universe_refresh_minutes: int = _f(
        "universe", 60, "Minutes between universe refreshes (exchangeInfo).", hot=False, ge=1, le=1440
    )

    @field_validator("universe_size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if isinstance(v, str):
            s = v.strip().lower()
            if s == "all":
                return "all"
            if not s.isdigit() or int(s) < 1:
                raise ValueError("must be a positive integer or 'all'")
            return int(s)
        if isinstance(v, int) and v < 1:
            raise ValueError("must be a positive integer or 'all'")
        return v


class ConnectionSettings(BaseModel):
    """Where the service's backing stores are and how it identifies itself."""

    strategy_name: str = _f(
        "connection",
        "default",
        "Strategy name; namespaces stream keys (soroka:{strategy}:candles).",
        hot=False,
        pattern=r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$",
    )
    redis_url: str = _f(
        "connection", "redis://redis:6379/0", "Redis URL.", hot=False, pattern=r"^(redis|rediss|unix)://.+"
    )
    database_url: str = _f(
        "connection",
        "postgresql://postgres@postgres:5432/soroka",
        "PostgreSQL URL.",
        hot=False,
        pattern=r"^postgres(ql)?://.+",
    )
    http_port: int = _f(
        "connection", 8000, "Port of the /healthz, /readyz and /metrics endpoint.", hot=False, ge=0, le=65535
    )
    http_host: str = _f("connection", "0.0.0.0", "Bind address of the health/metrics endpoint.", hot=False)
    consumer_name: str = _f(
        "connection", "", "Consumer name in the stream group (default: hostname-pid).", hot=False
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _f("connection", "INFO", "Log level.")
    stream_maxlen: int = _f(
        "connection",
        100_000,
        "Approximate MAXLEN each stream is trimmed to.",
        hot=False,
        ge=100,
        le=10_000_000,
    )
    dead_letter_after: int = _f(
        "connection", 5, "Deliveries after which a failing message is dead-lettered.", hot=False, ge=1, le=100
    )
    claim_idle_ms: int = _f(
        "connection",
        30_000,
        "Idle time after which another consumer's pending message is reclaimed.",
        hot=False,
        ge=1000,
        le=3_600_000,
    )


class BinanceSettings(BaseModel):
    """The Binance REST endpoint and how hard the ingest may use it."""

    binance_base_url: str = _f(
        "binance",
        "https://data-api.binance.vision",
        "Binance REST base URL (or the simulator's).",
        hot=False,
        pattern=r"^https?://.+",
    )
    weight_budget: int = _f(
        "binance",
        4800,
        "Request weight the ingest may use per minute (Binance allows 6000/IP).",
        hot=False,
        ge=50,
        le=6000,
    )
    http_timeout: float = _f(
        "binance", 10.0, "Seconds before a Binance request times out.", hot=False, gt=0, le=120
    )
    http_retries: int = _f(
        "binance", 4, "Retries of a failed request (5xx, timeout, 429).", hot=False, ge=0, le=20
    )
    max_concurrency: int = _f("binance", 64, "Requests in flight at once.", hot=False, ge=1, le=512)
    close_delay_seconds: float = _f(
        "binance",
        2.0,
        "Seconds after a minute closes before its candles are fetched.",
        hot=False,
        ge=0,
        le=50,
    )
    backfill_limit_minutes: int = _f(
        "binance", 1440, "Longest gap healed by backfill after a restart.", hot=False, ge=1, le=100_000
    )


class TelegramSettings(BaseModel):
    """The Telegram channel and bot (token is a secret: never logged or shown)."""

    telegram_bot_token: SecretStr | None = _f(
        "telegram", None, "Bot token; empty sends to a console sink.", hot=False
    )
    telegram_token_file: Path | None = _f(
        "telegram", None, "File holding the bot token (a mounted Secret).", hot=False
    )
    telegram_chat_id: str = _f("telegram", "", "Chat id or @channelusername to post to.", hot=False)
    telegram_api_url: str = _f(
        "telegram",
        "https://api.telegram.org",
        "Telegram Bot API base URL (or the fake server's).",
        hot=False,
        pattern=r"^https?://.+",
    )
    telegram_per_chat_per_minute: int = _f(
        "telegram", 20, "Messages per minute to one chat (Telegram: 20 in groups).", hot=False, ge=1, le=600
    )
    telegram_global_per_second: int = _f(
        "telegram", 30, "Messages per second overall (Telegram: about 30).", hot=False, ge=1, le=1000
    )
    report_mode: Literal["reply", "edit"] = _f(
        "telegram", "reply", "Post PnL reports as a reply to the signal, or edit the signal message."
    )
    digest_threshold: int = _f(
        "telegram", 3, "Signals waiting for one chat beyond which they are sent as a digest.", ge=1, le=100
    )
    summary_interval_minutes: int = _f(
        "telegram", 60, "Minutes between summary posts (0 disables).", ge=0, le=10_080
    )

    @field_validator("telegram_bot_token", "telegram_token_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: Any) -> Any:
        """`TELEGRAM_TOKEN_FILE=` in a .env file means no file, not the current directory."""
        return None if isinstance(v, str) and not v.strip() else v

    def bot_token(self) -> str | None:
        """The token from the file if configured, else from the setting; None means console sink."""
        if self.telegram_token_file is not None:
            token = self.telegram_token_file.read_text().strip()
            return token or None
        if self.telegram_bot_token is not None and self.telegram_bot_token.get_secret_value():
            return self.telegram_bot_token.get_secret_value()
        return None


class EvaluateSettings(BaseModel):
    """How signals are judged afterwards."""

    report_each_horizon: bool = _f(
        "evaluate", False, "Emit a report as each horizon becomes known, not only when all are."
    )


class PaperSettings(BaseModel):
    """The paper trader's account."""

    paper_balance: float = _f(
        "risk", 10_000.0, "Starting paper balance (USDT) of the paper trader.", hot=False, gt=0
    )


class _ServiceSettings(BaseSettings):
    """Common behaviour of every service's settings: `.env` file + environment, env wins."""

    model_config = SettingsConfigDict(
        env_file=None,
        extra="ignore",
        case_sensitive=False,
        frozen=True,
        validate_default=True,
    )
    service: ClassVar[str] = ""


class IngestSettings(
    _ServiceSettings, ConnectionSettings, BinanceSettings, UniverseSettings, DetectorSettings
):
    service: ClassVar[str] = "ingest"


class AnalyzeSettings(_ServiceSettings, ConnectionSettings, DetectorSettings, FilterSettings, OutputSettings):
    service: ClassVar[str] = "analyze"


class EvaluateServiceSettings(
    _ServiceSettings, ConnectionSettings, CandleSettings, FeeSettings, EvaluateSettings
):
    service: ClassVar[str] = "evaluate"


class PublishSettings(_ServiceSettings, ConnectionSettings, TelegramSettings, SignalAgeSettings):
    service: ClassVar[str] = "publish"


class TraderSettings(_ServiceSettings, ConnectionSettings, RiskSettings, OutputSettings, PaperSettings):
    service: ClassVar[str] = "trader"


class StrategySettings(
    _ServiceSettings,
    DetectorSettings,
    FilterSettings,
    RiskSettings,
    OutputSettings,
    UniverseSettings,
):
    """Every strategy key at once (the backtest and the CRD's spec use this)."""

    service: ClassVar[str] = "strategy"


SERVICE_SETTINGS: dict[str, type[_ServiceSettings]] = {
    cls.service: cls
    for cls in (IngestSettings, AnalyzeSettings, EvaluateServiceSettings, PublishSettings, TraderSettings)
}

# The product's default configuration, by env key, as the brief states it.
PRODUCT_DEFAULTS: dict[str, str] = {
    "EVENT_FILTER_TYPE": "BOS_UP",
    "CONFIDENCE_MIN": "0.45",
    "CONFIDENCE_MAX": "0.80",
    "INTERVAL": "1m",
    "LOOKBACK": "3",
    "MIN_CANDLES": "5",
    "BOS_STRENGTH_THRESHOLD": "1.006",
    "MIN_VOLUME_MULTIPLIER": "1.3",
    "REQUIRE_BODY_RATIO": "0.6",
    "MIN_EVENT_INTERVAL_MINUTES": "2",
    "ALLOCATION_PCT": "0.50",
    "STOPLOSS_PCT": "0.08",
    "LEVERAGE": "1",
    "TRADE_TIME": "90",
    "MIN_LIQUIDITY_USDT": "10000000",
    "MAX_VOLATILITY": "0.25",
    "MIN_TRADE_COUNT": "300000",
    "REDIS_URL": "redis://redis:6379/0",
    "TRADE_QUEUE_NAME": "trade_bot_queue",
    "MAX_SIGNAL_AGE": "60",
}


def field_group(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra
    return str(extra["group"]) if isinstance(extra, dict) else ""


def is_hot(model: type[BaseModel], name: str) -> bool:
    extra = model.model_fields[name].json_schema_extra
    return bool(extra.get("hot", False)) if isinstance(extra, dict) else False


def env_key(name: str) -> str:
    return name.upper()
