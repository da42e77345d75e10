"""When to run the next cycle: shortly after each candle closes, by the exchange's clock (which may run fast)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ExchangeClock:
    """Tracks how fast the exchange's clock runs against ours (1.0 for Binance, e.g. 60 for a fast simulator)."""

    speed: float = 1.0
    local: Callable[[], float] = time.monotonic
    _samples: list[tuple[float, int]] = field(default_factory=list)

    def now_ms(self) -> int:
        """The exchange's time now, extrapolated from the last sample (wall clock before any sample)."""
        if not self._samples:
            return time.time_ns() // 1_000_000
        local_s, server_ms = self._samples[-1]
        return int(server_ms + (self.local() - local_s) * 1000.0 * self.speed)

    def observe(self, local_s: float, server_ms: int) -> None:
        self._samples.append((local_s, server_ms))
        del self._samples[:-8]
        (l0, s0), (l1, s1) = self._samples[0], self._samples[-1]
        if l1 - l0 >= 0.5 and s1 > s0:
            self.speed = min(max((s1 - s0) / 1000.0 / (l1 - l0), 0.1), 100_000.0)

    @property
    def calibrated(self) -> bool:
        """True once two samples half a second apart have measured the speed."""
        return len(self._samples) >= 2 and self._samples[-1][0] - self._samples[0][0] >= 0.5

    def real_seconds(self, exchange_ms: float) -> float:
        return max(exchange_ms, 0.0) / 1000.0 / self.speed


def next_due_ms(now_ms: int, interval_ms: int, close_delay_ms: int) -> int:
    """Exchange time at which the candle open at `now_ms` has closed and the delay has passed."""
    return (now_ms // interval_ms) * interval_ms + interval_ms + close_delay_ms


def cycle_target(now_ms: int, interval_ms: int, close_delay_ms: int) -> int:
    """Open time of the newest candle that closed at least `close_delay_ms` ago."""
    shifted = now_ms - close_delay_ms
    return (shifted // interval_ms) * interval_ms - interval_ms
