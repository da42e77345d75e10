"""The demo's per-service `.env` files: the repository's `config/*.env` templates, wired to the demo's servers.

Each service gets ``<data-dir>/config/<service>.env``: every line of its template (comments kept) with the
demo's wiring (Redis, Postgres, simulator, fake Telegram, strategy name, HTTP port) and the filter values
relaxed for the synthetic market (``DEMO_RELAXED``). Outside a checkout the templates are rendered from the
settings models' defaults. The files are the services' live configuration: editing one hot-reloads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from soroka.core.settings import SERVICE_SETTINGS, env_key

SERVICES: tuple[str, ...] = ("ingest", "analyze", "evaluate", "publish", "trader")

# Values changed from the product defaults so the synthetic market's planted breakouts become signals:
# - MIN_LIQUIDITY_USDT / MIN_TRADE_COUNT: most synthetic symbols trade less than the 10M USDT / 300k trades
#   a day the product asks for; planted breakouts fall on any tradable symbol.
# - CONFIDENCE_MAX: a planted breakout scores ~0.80, right at the product's upper bound.
# - UNIVERSE_SIZE=all: scan every tradable pair (a few hundred), so no planted breakout is outside it.
# - CLAIM_IDLE_MS: a killed analyzer's pending messages are taken over after 5 s, not 30 s.
DEMO_RELAXED: dict[str, str] = {
    "MIN_LIQUIDITY_USDT": "100000",
    "MIN_TRADE_COUNT": "1000",
    "CONFIDENCE_MAX": "0.95",
    "UNIVERSE_SIZE": "all",
    "CLAIM_IDLE_MS": "5000",
}
# Keys the demo comments out: an empty TELEGRAM_TOKEN_FILE= would name the current directory.
DEMO_UNSET: tuple[str, ...] = ("TELEGRAM_TOKEN_FILE",)
DEMO_BOT_TOKEN = "123456:demo"
DEMO_CHAT_ID = "-1001000000001"


@dataclass(frozen=True)
class DemoWiring:
    """Where the demo's services find each other."""

    redis_url: str
    database_url: str
    binance_base_url: str
    telegram_api_url: str
    strategy: str
    ports: Mapping[str, int]  # HTTP_PORT by service
    telegram_chat_id: str = DEMO_CHAT_ID
    telegram_bot_token: str = DEMO_BOT_TOKEN
    log_level: str = "INFO"

    def values(self, service: str) -> dict[str, str]:
        """Every key the demo sets in `service`'s file."""
        out = {
            "STRATEGY_NAME": self.strategy,
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "HTTP_PORT": str(self.ports.get(service, 0)),
            "HTTP_HOST": "127.0.0.1",
            "LOG_LEVEL": self.log_level,
            "BINANCE_BASE_URL": self.binance_base_url,
            "TELEGRAM_API_URL": self.telegram_api_url,
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "TELEGRAM_CHAT_ID": self.telegram_chat_id,
            # The trade queue is one key for every strategy: a run of its own keeps other runs' signals out.
            "TRADE_QUEUE_NAME": f"soroka:{self.strategy}:trade_bot_queue",
            **DEMO_RELAXED,
        }
        return {k: v for k, v in out.items() if k in service_keys(service)}


def service_keys(service: str) -> set[str]:
    return {env_key(n) for n in SERVICE_SETTINGS[service].model_fields}


def repo_config_dir() -> Path | None:
    """`config/` of the checkout this package runs from (editable install), if any."""
    root = Path(__file__).resolve().parents[3]
    config = root / "config"
    return config if (config / "ingest.env").is_file() and (root / "pyproject.toml").is_file() else None


def packaged_template(service: str) -> str:
    """A template rendered from the settings model's defaults (used when not run from a checkout)."""
    cls = SERVICE_SETTINGS[service]
    lines = [f"# soroka {service}: defaults of this installation (rendered by soroka demo)."]
    for name, info in cls.model_fields.items():
        default = info.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        value = "" if default is None else getattr(default, "value", default)
        if info.description:
            lines.append(f"# {info.description}")
        lines.append(f"{env_key(name)}={value}")
    return "\n".join(lines) + "\n"


def render(template: str, values: Mapping[str, str], unset: tuple[str, ...] = DEMO_UNSET) -> str:
    """The template with `values` substituted on their KEY= lines (keys it lacks appended), `unset` commented out."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in template.splitlines():
        key, sep, _ = raw.partition("=")
        k = key.strip().upper()
        if sep and not raw.lstrip().startswith("#") and k in unset:
            out.append(f"# {raw.strip()}  (unset by soroka demo)")
        elif sep and not raw.lstrip().startswith("#") and k in values:
            out.append(f"{k}={values[k]}")
            seen.add(k)
        else:
            out.append(raw)
    missing = [k for k in values if k not in seen]
    if missing:
        out.append("")
        out.append("# --- set by soroka demo")
        out.extend(f"{k}={values[k]}" for k in missing)
    return "\n".join(out) + "\n"


def write_env_files(config_dir: Path, wiring: DemoWiring, templates: Path | None = None) -> dict[str, Path]:
    """Write one `.env` per service under `config_dir`; returns their paths by service."""
    config_dir.mkdir(parents=True, exist_ok=True)
    templates = templates if templates is not None else repo_config_dir()
    paths: dict[str, Path] = {}
    for service in SERVICES:
        source = templates / f"{service}.env" if templates is not None else None
        template = (
            source.read_text() if source is not None and source.is_file() else packaged_template(service)
        )
        path = config_dir / f"{service}.env"
        tmp = path.with_suffix(".env.tmp")
        tmp.write_text(render(template, wiring.values(service)))
        tmp.replace(path)
        paths[service] = path
    return paths
