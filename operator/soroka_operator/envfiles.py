"""Strategy spec → one validated `.env` text per service (pure; the operator puts them in ConfigMaps)."""

from __future__ import annotations

import enum
from typing import Any

from soroka.core.configuring import load_settings
from soroka.core.settings import SERVICE_SETTINGS
from soroka_operator.fields import lookup, spec_fields

SERVICES: tuple[str, ...] = ("ingest", "analyze", "publish", "evaluate", "trader")
CONFIG_DIR = "/etc/soroka"
TOKEN_DIR = "/etc/soroka-secrets/telegram"
TOKEN_FILE = f"{TOKEN_DIR}/token"
HTTP_PORT = 8000


def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return "" if value is None else str(value)


def env_path(service: str) -> str:
    return f"{CONFIG_DIR}/{service}.env"


def strategy_env(name: str, spec: dict[str, Any]) -> dict[str, str]:
    """Every env key a Strategy defines (spec value, else the product default), by env key."""
    env: dict[str, str] = {"STRATEGY_NAME": name, "HTTP_PORT": str(HTTP_PORT)}
    for field in spec_fields():
        value = lookup(spec, field.path)
        env[field.env_key] = env_value(field.default if value is None else value)
    if lookup(spec, ("outputs", "telegram", "tokenSecretRef")):
        env["TELEGRAM_TOKEN_FILE"] = TOKEN_FILE
    return env


def service_env(service: str, name: str, spec: dict[str, Any]) -> dict[str, str]:
    """The keys of one service's settings class, validated by building that class from them.

    Raises soroka.core.settings.ConfigError naming the bad key, its value and what is allowed.
    """
    cls = SERVICE_SETTINGS[service]
    keys = {n.upper() for n in cls.model_fields}
    env = {k: v for k, v in strategy_env(name, spec).items() if k in keys}
    load_settings(cls, None, environ=env)
    return env


def env_file_text(service: str, env: dict[str, str]) -> str:
    lines = [f"# soroka {service}: rendered by soroka-operator from the Strategy; edit the Strategy instead."]
    lines += [f"{key}={value}" for key, value in env.items()]
    return "\n".join(lines) + "\n"
