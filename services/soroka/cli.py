"""The `soroka` command: one sub-command per service or tool, each in the module that owns it.

A command module exposes ``add_arguments(parser)`` and ``run(args) -> int``; it is imported only
when its command is chosen, so `soroka --help` stays fast and no service code runs at import.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from soroka.core.settings import ConfigError

COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("soroka.commands.config", "show the effective configuration of a service"),
    "db": ("soroka.commands.db", "database schema: migrate, status"),
    "events": ("soroka.commands.events", "the latest events with every filter's verdict"),
    "simulate": ("soroka.simulator.cli", "run the Binance-compatible exchange simulator"),
    "ingest": ("soroka.ingest.main", "scan the market: universe, 24h tickers, closed candles"),
    "analyze": ("soroka.analyze.main", "detect BOS events and publish signals (consumer group)"),
    "backtest": ("soroka.backtest.cli", "replay kline CSV files through the detector, filters and PnL"),
    "evaluate": ("soroka.evaluate.main", "compute post-signal PnL and emit reports"),
    "publish": ("soroka.publish.main", "post signals and reports to Telegram"),
    "trader": ("soroka.trader.main", "paper-trading bot on the trade queue"),
    "fake-telegram": ("soroka.fake_telegram.cli", "run a fake Telegram Bot API server"),
    "demo": ("soroka.demo.cli", "run the whole platform locally"),
    "up": ("soroka.demo.up", "run the services against external Redis/Postgres and Binance"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soroka", description="Soroka market-signals platform")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        build_parser().parse_args(args)
        return 2
    name, rest = args[0], args[1:]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"soroka {name}", description=help_text)
    module.add_arguments(parser)
    ns = parser.parse_args(rest)
    try:
        return int(module.run(ns) or 0)
    except ConfigError as e:
        print(f"soroka {name}: configuration error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        line = _unavailable(e)
        if line is None:
            raise
        print(f"soroka {name}: {line}", file=sys.stderr)
        return 1


def _unavailable(e: Exception) -> str | None:
    """One line for the start-up failures a user fixes outside the code (a store down, a schema behind)."""
    from asyncpg import InvalidCatalogNameError, InvalidPasswordError

    from soroka.storage.pools import SchemaNotReady

    if isinstance(e, SchemaNotReady | InvalidCatalogNameError | InvalidPasswordError):
        return str(e)
    if isinstance(e, ConnectionError | TimeoutError):
        return f"cannot connect ({type(e).__name__}: {e}); is Redis/Postgres running and the URL right?"
    from redis.exceptions import ConnectionError as RedisConnectionError

    if isinstance(e, RedisConnectionError):
        return f"cannot reach Redis: {e}"
    return None


if __name__ == "__main__":
    sys.exit(main())
