"""Benchmark of the detector and the backtest: real month, synthetic 150 symbols x 30 days, reference ratio.

Run: python bench/bench_detection.py [--out docs/benchmarks-detection.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from soroka.analyze.detection import detect, detect_reference
from soroka.backtest.running import run_backtest
from soroka.core.candles import CandleArrays
from soroka.core.settings import DetectorSettings, StrategySettings
from soroka.history.klinefiles import read_kline_file

ROOT = Path(__file__).resolve().parents[1]
KLINES_DIR = ROOT.parent / "shared" / "data" / "binance-klines"
START_MS = 1_756_684_800_000  # 2025-09-01 00:00 UTC


def synthetic(rng: np.random.Generator, minutes: int, start_ms: int = START_MS) -> CandleArrays:
    """A seeded random walk on a tick grid with intrabar wicks and lognormal volume."""
    price0 = float(rng.uniform(0.5, 200.0))
    tick = 10.0 ** (np.floor(np.log10(price0)) - 4)
    steps = rng.standard_t(df=4, size=minutes) * 0.0012
    close = np.maximum(np.round(price0 * np.exp(np.cumsum(steps)) / tick), 1) * tick
    open_ = np.concatenate(([close[0]], close[:-1]))
    wick = np.abs(rng.normal(0, 0.0008, size=(2, minutes))) * close
    high = np.round(np.maximum(open_, close) + wick[0], 12)
    low = np.round(np.maximum(np.minimum(open_, close) - wick[1], tick), 12)
    volume = np.round(rng.lognormal(8.0, 1.0, size=minutes), 2)
    quote = volume * close
    trades = rng.poisson(300, size=minutes).astype(np.int64)
    ot = start_ms + np.arange(minutes, dtype=np.int64) * 60_000
    return CandleArrays(ot, open_, high, low, close, volume, quote, trades)


def write_csv(path: Path, c: CandleArrays) -> None:
    n = len(c)
    table = pa.table(
        {
            "open_time": c.open_time,
            "open": c.open,
            "high": c.high,
            "low": c.low,
            "close": c.close,
            "volume": c.volume,
            "close_time": c.open_time + 59_999,
            "quote_volume": c.quote_volume,
            "count": c.trades,
            "taker_buy_volume": np.zeros(n),
            "taker_buy_quote_volume": np.zeros(n),
            "ignore": np.zeros(n, dtype=np.int64),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=False))


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-detection.md")
    ap.add_argument("--symbols", type=int, default=150)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    params = DetectorSettings()
    rows: list[tuple[str, str, str]] = []

    real = [read_kline_file(p) for p in sorted(KLINES_DIR.glob("*-1m-*.csv*"))]
    n_real = sum(len(c) for _, c in real)
    t = best_of(lambda: [detect(s, c, params) for s, c in real], 5)
    n_ev = sum(len(detect(s, c, params)) for s, c in real)
    rows.append(("detect, real month", f"{len(real)} symbols, {n_real:,} candles, {n_ev} events",
                 f"{t * 1e3:.1f} ms = {n_real / t / 1e6:.1f} M candles/s"))  # fmt: skip

    rng = np.random.default_rng(20250901)
    minutes = args.days * 1440
    data = [(f"SYN{k:03d}USDT", synthetic(rng, minutes)) for k in range(args.symbols)]
    n_syn = sum(len(c) for _, c in data)
    t = best_of(lambda: [detect(s, c, params) for s, c in data], 3)
    n_ev = sum(len(detect(s, c, params)) for s, c in data)
    rows.append(("detect, synthetic", f"{args.symbols} x {args.days} days, {n_syn:,} candles, {n_ev:,} events",
                 f"{t:.2f} s = {n_syn / t / 1e6:.1f} M candles/s"))  # fmt: skip

    sub = data[:3]
    n_sub = sum(len(c) for _, c in sub)
    t_ref = best_of(lambda: [detect_reference(s, c, params) for s, c in sub], 1)
    t_vec = best_of(lambda: [detect(s, c, params) for s, c in sub], 5)
    assert all(detect(s, c, params) == detect_reference(s, c, params) for s, c in sub[:1])
    rows.append(("detect_reference (pure Python)", f"{len(sub)} synthetic symbols, {n_sub:,} candles",
                 f"{n_sub / t_ref / 1e6:.2f} M candles/s; vectorised is {t_ref / t_vec:.0f}x faster"))  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        files = []
        for s, c in data:
            p = Path(tmp) / f"{s}-1m-2025-09.csv"
            write_csv(p, c)
            files.append(p)
        t_write = time.perf_counter() - t0
        data.clear()  # free the in-memory copy before the backtest reads the files
        settings = StrategySettings()
        t0 = time.perf_counter()
        result = run_backtest(files, settings)
        t_bt = time.perf_counter() - t0
    rows.append(("backtest incl. CSV reading", f"{len(files)} files, {result.candles:,} candles, "
                 f"{len(result.records):,} events, {len(result.signals):,} signals",
                 f"{t_bt:.2f} s = {result.candles / t_bt / 1e6:.2f} M candles/s (writing CSVs: {t_write:.1f} s)"))  # fmt: skip
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    lines = [
        "# Detection and backtest benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}; one process, one core for detection. "
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Peak RSS {rss_mb:.0f} MB "
        "(mostly the in-memory synthetic set, freed before the backtest). Timings are best-of-N wall time; "
        "the machine is shared, so they vary by about 2x between runs.",
        "Command: `python bench/bench_detection.py` (defaults: L=3, M=5, S=1.006, V=1.3, B=0.6, G=2).",
        "Targets: detection >= 5 M candles/s on one core; 6.5 M-candle backtest <= 10 s.",
        "",
        "| what | data | result |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
