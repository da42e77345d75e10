"""Fault injection for the simulator's Binance endpoints: latency, timeouts, 5xx, 429s, malformed bodies."""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Fault = Literal["timeout", "5xx", "429", "malformed"]


class Faults(BaseModel):
    """Rates are probabilities per request, drawn in this order: timeout, 5xx, 429, malformed."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    latency_ms: float = Field(0.0, ge=0, le=60_000, description="Real milliseconds added to every response.")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="Requests answered only after timeout_s.")
    timeout_s: float = Field(30.0, ge=0, le=600, description="Real seconds a 'timeout' response is delayed.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Requests answered with 503 / -1008.")
    rate_429: float = Field(0.0, ge=0, le=1, description="Requests answered with an injected 429.")
    retry_after_s: int = Field(1, ge=0, le=3600, description="Retry-After of injected 429s.")
    malformed_rate: float = Field(
        0.0, ge=0, le=1, description="Requests answered with a truncated JSON body."
    )


class FaultInjector:
    def __init__(self, faults: Faults | None = None, seed: int = 0) -> None:
        self.faults = faults or Faults()
        self._rng = random.Random(seed)

    def draw(self) -> Fault | None:
        f = self.faults
        for name, rate in (("timeout", f.timeout_rate), ("5xx", f.error_rate), ("429", f.rate_429)):
            if rate and self._rng.random() < rate:
                return name  # type: ignore[return-value]
        if f.malformed_rate and self._rng.random() < f.malformed_rate:
            return "malformed"
        return None
