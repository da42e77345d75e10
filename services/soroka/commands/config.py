"""`soroka config show`: the effective configuration of a service, secrets masked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from soroka.core.settings import SERVICE_SETTINGS, StrategySettings, load_settings, masked_dump


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    show = sub.add_parser("show", help="print the effective configuration")
    show.add_argument("--env-file", type=Path, default=None)
    show.add_argument(
        "--service",
        choices=sorted([*SERVICE_SETTINGS, "strategy"]),
        default=None,
        help="settings model to use (default: guessed from the env file name, else strategy)",
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of KEY=VALUE lines")


def run(args: argparse.Namespace) -> int:
    service = args.service
    if service is None and args.env_file is not None and args.env_file.stem in SERVICE_SETTINGS:
        service = args.env_file.stem
    cls = SERVICE_SETTINGS.get(service or "", StrategySettings)
    settings = load_settings(cls, args.env_file)
    dump = masked_dump(settings)
    if args.json:
        print(json.dumps(dump, indent=2, default=str))
    else:
        for key in sorted(dump):
            value = dump[key]
            print(f"{key}={'' if value is None else value}")
    return 0
