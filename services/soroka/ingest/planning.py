"""What to fetch each minute: the closed candles each symbol is missing, with gaps healed by backfill."""

from __future__ import annotations

from dataclasses import dataclass

KLINES_MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Fetch:
    symbol: str
    start_time: int  # open time of the first candle wanted
    limit: int  # candles wanted (<= 1000 per request)


def last_closed_open_time(now_ms: int, interval_ms: int) -> int:
    """Open time of the newest candle that has closed at `now_ms` (close time = open + interval - 1)."""
    return (now_ms // interval_ms) * interval_ms - interval_ms


def plan_fetches(
    symbol: str,
    last_stored: int | None,
    target: int,
    interval_ms: int,
    *,
    seed_candles: int,
    backfill_limit: int,
) -> list[Fetch]:
    """Requests covering (last_stored, target]; a new symbol is seeded with `seed_candles` of history.

    A gap longer than `backfill_limit` candles is healed only for its most recent part.
    """
    if last_stored is None:
        start = target - (seed_candles - 1) * interval_ms
    else:
        start = max(last_stored + interval_ms, target - (backfill_limit - 1) * interval_ms)
    if start > target:
        return []
    total = (target - start) // interval_ms + 1
    out = []
    while total > 0:
        n = min(total, KLINES_MAX_LIMIT)
        # one extra row: the still-open candle Binance returns last is dropped by the client
        out.append(Fetch(symbol, start, min(n + 1, KLINES_MAX_LIMIT)))
        start += n * interval_ms
        total -= n
    return out
