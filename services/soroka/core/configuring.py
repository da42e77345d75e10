"""Loading configuration: `.env` files and the environment into settings models, errors as one line per key."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from soroka.core.settings import ConfigError, env_key


def allowed(model: type[BaseModel], name: str) -> str:
    """A short human description of what a field accepts, for error lines."""
    info = model.model_fields.get(name)
    if info is None:
        return ""
    parts: list[str] = []
    for m in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                parts.append(f"{sym} {getattr(m, attr)}")
        if getattr(m, "pattern", None):
            parts.append(f"matching {m.pattern}")
    ann = info.annotation
    args = getattr(ann, "__args__", ())
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        parts.append("one of " + ", ".join(e.value for e in ann))
    elif args and all(isinstance(a, str) for a in args):
        parts.append("one of " + ", ".join(args))
    return "; ".join(parts)


def format_validation_error(model: type[BaseModel], err: ValidationError, values: dict[str, Any]) -> str:
    """One line per bad key: KEY='value' is invalid: reason (allowed: ...)."""
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"] if isinstance(p, str)]
        name = loc[0] if loc else ""
        if name:
            key = env_key(name)
            value = values.get(key, values.get(name, e.get("input")))
            allowed_text = allowed(model, name)
            suffix = f" (allowed: {allowed_text})" if allowed_text else ""
            lines.append(f"{key}={value!r} is invalid: {e['msg']}{suffix}")
        else:
            lines.append(f"invalid configuration: {e['msg']}")
    return "; ".join(lines)


def read_env_file(path: Path | str) -> dict[str, str]:
    """Parse a `.env` file (KEY=VALUE lines, # comments, optional quotes) into a dict of upper-case keys."""
    out: dict[str, str] = {}
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{n}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip().upper()] = value
    return out


S = TypeVar("S", bound=BaseSettings)


def load_settings(
    cls: type[S], env_file: Path | str | None = None, environ: dict[str, str] | None = None, **overrides: Any
) -> S:
    """Build settings from a `.env` file, then the environment (which wins), then explicit overrides.

    Raises ConfigError with one line naming the key, the value and what is allowed.
    """
    values: dict[str, Any] = {}
    if env_file is not None:
        try:
            values.update(read_env_file(env_file))
        except OSError as e:
            raise ConfigError(f"cannot read env file {env_file}: {e.strerror}") from e
    env = os.environ if environ is None else environ
    names = {env_key(n) for n in cls.model_fields}
    values.update({k.upper(): v for k, v in env.items() if k.upper() in names})
    values.update({env_key(k): v for k, v in overrides.items()})
    known = {k: v for k, v in values.items() if k in names}
    try:
        return cls.model_validate({k.lower(): v for k, v in known.items()})
    except ValidationError as e:
        raise ConfigError(format_validation_error(cls, e, known)) from e


def masked_dump(settings: BaseModel) -> dict[str, Any]:
    """The effective configuration by env key, secrets masked, for logs and `config show`."""
    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "**********" if value.get_secret_value() else ""
        elif isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1]:
            scheme, rest = value.split("://", 1)
            cred, host = rest.rsplit("@", 1)
            if ":" in cred:
                value = f"{scheme}://{cred.split(':', 1)[0]}:****@{host}"
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Path):
            value = str(value)
        out[env_key(name)] = value
    return out
