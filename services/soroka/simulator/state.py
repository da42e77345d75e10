"""The simulator's moving parts in one object, kept on ``app.state`` (no module-level state)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from soroka.simulator.clock import Clock
from soroka.simulator.faults import FaultInjector
from soroka.simulator.interface import Market
from soroka.simulator.limits import WeightLimiter


@dataclass
class EndpointStats:
    requests: int = 0
    weight: int = 0
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Simulator:
    market: Market
    clock: Clock
    faults: FaultInjector
    limiter: WeightLimiter
    stats: dict[str, EndpointStats] = field(default_factory=lambda: defaultdict(EndpointStats))

    def record(self, endpoint: str, weight: int, status: int) -> None:
        s = self.stats[endpoint]
        s.requests += 1
        s.weight += weight
        s.statuses[status] += 1
