"""A literal, slow reading of DETECTION.md's BOS rules, used to check the simulator's planted breakouts."""

from __future__ import annotations

from soroka.core.candles import CandleArrays


def bos_events(
    a: CandleArrays, lookback: int = 3, m: int = 5, s: float = 1.006, v: float = 1.3, b: float = 0.6
) -> list[tuple[str, int, float]]:
    """(type, open_time, level) of every qualifying event (spacing rule left out)."""
    up: float | None = None
    down: float | None = None
    out = []
    for c in range(len(a)):
        i = c - lookback - 1  # a swing at i is known once i+L has closed, i.e. from c = i+L+1
        if i >= lookback:
            if (
                a.high[i] > a.high[i - lookback : i].max()
                and a.high[i] >= a.high[i + 1 : i + lookback + 1].max()
            ):
                up = float(a.high[i])
            if a.low[i] < a.low[i - lookback : i].min() and a.low[i] <= a.low[i + 1 : i + lookback + 1].min():
                down = float(a.low[i])
        if c < max(m, 2 * lookback + 1):
            continue
        rng = a.high[c] - a.low[c]
        body = abs(a.close[c] - a.open[c]) / rng if rng > 0 else 0.0
        mean = sum(float(x) for x in a.volume[c - m : c]) / m
        vol_ok = mean == 0 or a.volume[c] / mean >= v
        if up is not None and a.close[c] >= up * s:
            if a.close[c] > a.open[c] and rng > 0 and body >= b and vol_ok:
                out.append(("BOS_UP", int(a.open_time[c]), up))
            up = None
        if down is not None and a.close[c] * s <= down:
            if a.close[c] < a.open[c] and rng > 0 and body >= b and vol_ok:
                out.append(("BOS_DOWN", int(a.open_time[c]), down))
            down = None
    return out
