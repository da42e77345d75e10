"""Where each settings field lives in a Strategy's spec: the one map the CRD, the renderer and tests share.

A field's CRD path is its group's path plus the camelCase of its name (group prefix dropped, so
``binance_base_url`` becomes ``binance.baseUrl`` and ``telegram_chat_id`` becomes
``outputs.telegram.chatId``). Fields the operator owns (strategy name, port, token file) have no path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from soroka.core.settings import (
    BinanceSettings,
    ConnectionSettings,
    DetectorSettings,
    EvaluateSettings,
    FilterSettings,
    OutputSettings,
    PaperSettings,
    RiskSettings,
    TelegramSettings,
    UniverseSettings,
    env_key,
)

# (group model, path of the group's object in the spec, name prefix dropped in the CRD).
GROUPS: tuple[tuple[type[BaseModel], tuple[str, ...], str], ...] = (
    (DetectorSettings, ("detector",), ""),
    (FilterSettings, ("filter",), ""),
    (RiskSettings, ("risk",), ""),
    (UniverseSettings, ("universe",), ""),
    (OutputSettings, ("outputs",), ""),
    (TelegramSettings, ("outputs", "telegram"), "telegram_"),
    (BinanceSettings, ("binance",), "binance_"),
    (EvaluateSettings, ("evaluate",), ""),
    (PaperSettings, ("risk",), ""),
    (ConnectionSettings, ("connection",), ""),
)

# Fields the operator sets itself (or that must never be in a spec, like the token).
OPERATOR_OWNED: frozenset[str] = frozenset(
    {
        "strategy_name",
        "http_port",
        "http_host",
        "consumer_name",
        "telegram_bot_token",
        "telegram_token_file",
    }
)


@dataclass(frozen=True)
class SpecField:
    """One settings field and its place in the spec."""

    name: str
    model: type[BaseModel]
    path: tuple[str, ...]

    @property
    def env_key(self) -> str:
        return env_key(self.name)

    @property
    def default(self) -> Any:
        return self.model.model_fields[self.name].default


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def spec_fields() -> tuple[SpecField, ...]:
    """Every field a Strategy spec may set, in declaration order."""
    out: list[SpecField] = []
    for model, group_path, prefix in GROUPS:
        for name in model.model_fields:
            if name in OPERATOR_OWNED:
                continue
            short = name[len(prefix) :] if prefix and name.startswith(prefix) else name
            out.append(SpecField(name=name, model=model, path=(*group_path, camel(short))))
    return tuple(out)


def lookup(spec: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` in a spec, or None when any part is absent."""
    node: Any = spec
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
