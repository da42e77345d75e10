"""Stream messages: typed, versioned, validated at both ends (the contract between services).

On Redis every message is a stream entry with the fields ``v`` (schema version), ``kind`` and
``data`` (the JSON body). ``decode`` raises ``MessageError`` (permanent: dead-letter it) for
anything that is not a valid message of the expected kind and version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from soroka.core.settings import EventType

SCHEMA_VERSION: Literal[1] = 1
HORIZONS_MIN: tuple[int, ...] = (1, 2, 3, 5, 10, 15)

CandleRow = tuple[int, float, float, float, float, float, float, int]


class MessageError(Exception):
    """A stream entry that can never be processed (bad JSON, wrong schema or version)."""


def stream_key(strategy: str, name: str) -> str:
    """Stream keys are namespaced by strategy: soroka:{strategy}:{name}."""
    return f"soroka:{strategy}:{name}"


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = ""

    v: Literal[1] = SCHEMA_VERSION
    traceparent: str | None = Field(default=None, description="W3C trace context of the producer's span.")

    def encode(self) -> dict[str, str]:
        return {"v": str(SCHEMA_VERSION), "kind": self.kind, "data": self.model_dump_json()}

    @classmethod
    def decode(cls, fields: Mapping[Any, Any]) -> Self:
        f = {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in fields.items()}
        kind = f.get("kind")
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind != cls.kind:
            raise MessageError(f"expected a {cls.kind!r} message, got kind={kind!r}")
        version = f.get("v")
        version = version.decode() if isinstance(version, bytes) else version
        if version != str(SCHEMA_VERSION):
            raise MessageError(
                f"unsupported schema version v={version!r} (this build reads v={SCHEMA_VERSION})"
            )
        data = f.get("data")
        if data is None:
            raise MessageError("message has no 'data' field")
        try:
            return cls.model_validate_json(data)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise MessageError(f"invalid {cls.kind} message: {loc}: {first['msg']}") from e


class Figures24h(BaseModel):
    """Rolling 24h figures of a symbol (Binance's 24h ticker live; the last 1440 candles in a backtest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quote_volume: float
    trade_count: int
    high: float
    low: float
    last_price: float

    @property
    def volatility(self) -> float:
        return (self.high - self.low) / self.low if self.low > 0 else float("inf")


class CandlesMessage(Message):
    """One symbol's closed-candle window after a minute closed, plus its 24h figures (ingest -> analyze)."""

    kind: ClassVar[str] = "candles"

    strategy: str
    symbol: str
    interval: str
    candles: list[CandleRow] = Field(description="Closed candles, oldest first; the last one just closed.")
    ticker: Figures24h | None = None
    liquidity_rank: int = Field(ge=0, description="1 = highest 24h quote volume in the universe; 0 unknown.")
    universe_size: int = Field(ge=0)
    published_at: int = Field(description="Publish time, UTC ms.")

    @property
    def last_open_time(self) -> int:
        return self.candles[-1][0] if self.candles else 0


class SignalMessage(Message):
    """A detected event that passed every filter (analyze -> publish, evaluate, trading bots)."""

    kind: ClassVar[str] = "signal"

    event_id: str
    strategy: str
    symbol: str
    type: EventType
    interval: str = "1m"
    open_time: int = Field(description="Open time of the breakout candle, UTC ms.")
    close_time: int = Field(
        description="Close time of the breakout candle, UTC ms (MAX_SIGNAL_AGE counts from here)."
    )
    close: float = Field(description="Close of the breakout candle: the entry reference.")
    level: float
    strength: float
    volume_ratio: float
    body_ratio: float
    confidence: float = Field(ge=0.0, le=1.0)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    published_at: int = Field(description="Publish time, UTC ms.")

    def age_seconds(self, now_ms: int) -> float:
        return (now_ms - self.close_time) / 1000.0


class ReportMessage(Message):
    """Post-signal performance of one signal (evaluate -> publish)."""

    kind: ClassVar[str] = "report"

    event_id: str
    strategy: str
    symbol: str
    type: EventType
    open_time: int
    entry: float
    confidence: float
    pnl: dict[str, float | None] = Field(
        description="PnL % by horizon in minutes ('1'..'15'); None = unavailable."
    )
    pnl_net: dict[str, float | None] = Field(default_factory=dict)
    mfe: float | None = None
    mae: float | None = None
    final: bool = True


class TradeMessage(Message):
    """A paper trade opened or closed by the paper trader (trader -> reports)."""

    kind: ClassVar[str] = "trade"

    trade_id: str
    event_id: str
    strategy: str
    symbol: str
    side: Literal["long", "short"]
    status: Literal["open", "closed"]
    entry_price: float
    exit_price: float | None = None
    quantity: float
    margin: float
    leverage: int
    pnl: float | None = None
    reason: str | None = None
    equity: float
    at: int


class ReportsStream:
    """Decoder of the `reports` stream, which carries PnL reports and paper trades."""

    kinds: ClassVar[dict[str, type[ReportMessage] | type[TradeMessage]]] = {
        "report": ReportMessage,
        "trade": TradeMessage,
    }

    @classmethod
    def decode(cls, fields: Mapping[Any, Any]) -> ReportMessage | TradeMessage:
        kind = fields.get("kind", fields.get(b"kind"))
        kind = kind.decode() if isinstance(kind, bytes) else kind
        target = cls.kinds.get(str(kind))
        if target is None:
            raise MessageError(f"unexpected message kind {kind!r} on the reports stream")
        return target.decode(fields)
