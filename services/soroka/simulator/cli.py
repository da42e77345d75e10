"""`soroka simulate`: serve a synthetic or replayed Binance market with an adjustable clock and faults."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging

from pydantic import ValidationError

from soroka.core.settings import ConfigError
from soroka.simulator.app import create_app
from soroka.simulator.clock import ScaledClock
from soroka.simulator.faults import FaultInjector, Faults
from soroka.simulator.interface import Market
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.replay import ReplayMarket

log = logging.getLogger("soroka.simulator")


def parse_time(value: str) -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC when no zone is given)."""
    if value.isdigit():
        return int(value)
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not epoch ms or ISO time: {value!r}") from e
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--symbols", type=int, default=400, help="listed symbols of the synthetic market")
    parser.add_argument("--seed", type=int, default=1, help="market and fault randomness")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument(
        "--start", type=parse_time, default=None, help="simulated start (ISO or ms; default now)"
    )
    parser.add_argument("--replay", default=None, help="directory of kline files to replay instead")
    parser.add_argument("--breakouts-per-hour", type=float, default=6.0, help="planted breakouts per hour")
    parser.add_argument("--weight-limit", type=int, default=6000, help="REQUEST_WEIGHT per minute per IP")
    for name, help_text in (
        ("latency-ms", "added to every response (real ms)"),
        ("error-rate", "share of requests answered 503"),
        ("rate-429", "share of requests answered with an injected 429"),
        ("malformed-rate", "share of requests answered with a truncated body"),
        ("timeout-rate", "share of requests held for --timeout-s"),
        ("timeout-s", "seconds a 'timeout' request is held"),
    ):
        parser.add_argument(f"--{name}", type=float, default=None, help=help_text)


def build_market(args: argparse.Namespace, start_ms: int) -> Market:
    if args.replay:
        from soroka.history.klinefiles import find_kline_files

        files = find_kline_files(args.replay)
        if not files:
            raise SystemExit(f"soroka simulate: no kline files under {args.replay}")
        return ReplayMarket.from_files(files, start_ms)
    return SyntheticMarket(
        args.symbols, seed=args.seed, start_ms=start_ms, breakouts_per_hour=args.breakouts_per_hour
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    given = {
        k: getattr(args, k)
        for k in ("latency_ms", "error_rate", "rate_429", "malformed_rate", "timeout_rate", "timeout_s")
        if getattr(args, k) is not None
    }
    try:
        faults = FaultInjector(Faults.model_validate(given), seed=args.seed)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(
            f"--{'-'.join(map(str, err['loc'])).replace('_', '-')}={err.get('input')!r}: {err['msg']}"
        ) from e
    clock = ScaledClock(args.start, args.speed)
    market = build_market(args, clock.now_ms())
    market.ticker(clock.now_ms())  # warm the caches before the first client arrives
    app = create_app(market, clock, faults, weight_limit=args.weight_limit)
    log.info("simulator on http://%s:%d with %d symbols", args.host, args.port, len(market.listings()))
    asyncio.run(uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info")).serve())
    return 0
