"""Benchmark: the analyzer's per-message work (decode the stream entry, build arrays, detect on the window).

Redis and Postgres are left out: they cost the same per message whatever the strategy and are measured by
the end-to-end tests. Prints a Markdown table and writes docs/benchmarks-analyze.md.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from soroka.analyze.detection import detect
from soroka.core.candles import CandleArrays
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, Figures24h
from soroka.core.settings import AnalyzeSettings

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-analyze.md"
SYMBOLS, WINDOW = 1500, 240


def encoded_messages() -> list[dict[str, str]]:
    rng = np.random.default_rng(7)
    out = []
    for k in range(SYMBOLS):
        close = 10 * np.exp(np.cumsum(rng.normal(0, 0.002, WINDOW)))
        open_ = np.concatenate([[close[0]], close[:-1]])
        high, low = np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999
        vol = rng.lognormal(5, 0.5, WINDOW)
        rows = [
            (
                1_760_000_000_000 + i * 60_000,
                open_[i],
                high[i],
                low[i],
                close[i],
                vol[i],
                vol[i] * close[i],
                100,
            )
            for i in range(WINDOW)
        ]
        msg = CandlesMessage(
            strategy="bench", symbol=f"S{k}USDT", interval="1m", candles=rows,
            ticker=Figures24h(quote_volume=2e7, trade_count=400_000, high=11, low=9, last_price=10),
            liquidity_rank=k + 1, universe_size=SYMBOLS, published_at=0,
        )  # fmt: skip
        out.append(msg.encode())
    return out


def main() -> None:
    settings = load_settings(AnalyzeSettings, environ={})
    entries = encoded_messages()
    best = float("inf")
    events = 0
    for _ in range(3):
        t = time.perf_counter()
        events = 0
        for fields in entries:
            msg = CandlesMessage.decode(fields)
            candles = CandleArrays.from_rows(msg.candles)
            events += sum(1 for e in detect(msg.symbol, candles, settings) if e.index == len(candles) - 1)
        best = min(best, time.perf_counter() - t)
    per_msg_ms = best / SYMBOLS * 1000
    text = "\n".join([
        "# Analyzer benchmark\n",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; one process, best of 3. Command: `python bench/bench_analyze.py`.",
        "Per candles message: decode the stream entry (240-candle window), build arrays, run `detect`.\n",
        "| messages | total (s) | per message (ms) | messages/s per analyzer | events on the last candle |",
        "|---|---|---|---|---|",
        f"| {SYMBOLS} | {best:.3f} | {per_msg_ms:.3f} | {SYMBOLS / best:,.0f} | {events} |",
        "",
        f"One analyzer keeps up with {int(60 / (per_msg_ms / 1000)):,} symbols per minute on this CPU work alone; "
        "add replicas for more (they share one consumer group).",
    ])  # fmt: skip
    print(text)
    OUT.write_text(text + "\n")


if __name__ == "__main__":
    main()
