"""Backtest records: one detected event with its score, filter verdicts and outcome, and its JSONL form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from soroka.analyze.filters import Verdict, failed_names
from soroka.analyze.scoring import ScoredEvent
from soroka.evaluate.pnl import Performance


def _finite(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class BacktestRecord:
    scored: ScoredEvent
    verdicts: tuple[Verdict, ...]
    performance: Performance

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        """The JSONL object: flat event fields and PnL columns, then reasons and metrics."""
        ev, perf = self.scored.event, self.performance
        out: dict[str, Any] = {
            "symbol": ev.symbol,
            "type": ev.type.value,
            "open_time": ev.open_time,
            "close": ev.close,
            "level": ev.level,
            "strength": ev.strength,
            "volume_ratio": _finite(ev.volume_ratio),
            "body_ratio": ev.body_ratio,
            "confidence": self.scored.confidence.value,
            "passed": self.passed,
            "failed_filters": failed_names(self.verdicts),
        }
        for h, v in perf.pnl.items():
            out[f"pnl_{h}m"] = v
        for h, v in perf.pnl_net.items():
            out[f"pnl_net_{h}m"] = v
        out["mfe_15m"] = perf.mfe
        out["mae_15m"] = perf.mae
        out["reasons"] = {v.name: v.reason for v in self.verdicts}
        out["metrics"] = self.scored.metrics
        return out
