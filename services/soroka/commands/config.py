"""`soroka config show`: the effective configuration of a service, secrets masked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from soroka.core.configuring import allowed, load_settings, masked_dump
from soroka.core.settings import SERVICE_SETTINGS, StrategySettings, env_key, field_group, is_hot


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
    sub.add_parser("reference", help="print the configuration reference (Markdown) generated from the models")
    example = sub.add_parser(
        "example", help="print an example .env of a service (every key, product defaults)"
    )
    example.add_argument("service", choices=sorted(SERVICE_SETTINGS))


def reference() -> str:
    """Every key of every service: default, what is allowed, meaning, hot-reloadable, and which services read it."""
    rows: dict[str, tuple[str, str, str, str, str, list[str]]] = {}
    for service, cls in SERVICE_SETTINGS.items():
        for name, field in cls.model_fields.items():
            key = env_key(name)
            if key not in rows:
                default = field.default
                default = getattr(default, "value", default)
                shown = "" if default is None else str(default)
                hot = "yes" if is_hot(cls, name) else "restart"
                rows[key] = (
                    field_group(cls, name),
                    shown,
                    allowed(cls, name),
                    field.description or "",
                    hot,
                    [],
                )
            rows[key][5].append(service)
    lines = [
        "| key | group | default | allowed | meaning | reload | services |",
        "|---|---|---|---|---|---|---|",
    ]
    order = [
        "detector",
        "filter",
        "risk",
        "outputs",
        "universe",
        "binance",
        "telegram",
        "evaluate",
        "connection",
    ]
    for key, (group, default, allow, meaning, hot, services) in sorted(
        rows.items(), key=lambda kv: (order.index(kv[1][0]) if kv[1][0] in order else 99, kv[0])
    ):
        allow, meaning = allow.replace("|", "\\|"), meaning.replace("|", "\\|")
        lines.append(
            f"| `{key}` | {group} | `{default}` | {allow} | {meaning} | {hot} | {', '.join(services)} |"
        )
    return "\n".join(lines) + "\n"


# Values for running on one machine (the example files under config/); everything else is the default.
LOCAL = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/soroka",
    "BINANCE_BASE_URL": "http://127.0.0.1:8900",
    "TELEGRAM_API_URL": "http://127.0.0.1:8081",
}
PORTS = {"ingest": 8010, "analyze": 8020, "evaluate": 8030, "publish": 8040, "trader": 8050}


def example(service: str) -> str:
    cls = SERVICE_SETTINGS[service]
    out = [
        f"# soroka {service}: every key with the product defaults. Environment variables override this file.",
        f"# Check it with: soroka config show --env-file config/{service}.env",
    ]
    last_group = None
    for name, field in cls.model_fields.items():
        group = field_group(cls, name)
        if group != last_group:
            out += ["", f"# --- {group}"]
            last_group = group
        key = env_key(name)
        value = field.default
        value = getattr(value, "value", value)
        value = LOCAL.get(key, PORTS[service] if key == "HTTP_PORT" else value)
        if isinstance(value, float) and value.is_integer() and value >= 1000:
            value = int(value)
        out += [f"# {field.description}", f"{key}={'' if value is None else value}"]
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.action == "example":
        print(example(args.service), end="")
        return 0
    if args.action == "reference":
        print(reference(), end="")
        return 0
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
