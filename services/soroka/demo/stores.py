"""The demo's Redis and Postgres: the ones REDIS_URL / DATABASE_URL name, else embedded servers under the data dir."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import asyncpg

from soroka.storage.migrating import MigrationError, ensure_database, migrate

log = logging.getLogger("soroka.demo")
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StoreError(RuntimeError):
    """Redis or Postgres cannot be set up for the demo (say what to do and stop)."""


@dataclass(frozen=True)
class Stores:
    redis_url: str
    database_url: str
    embedded_redis: bool
    embedded_postgres: bool


def open_stores(stack: ExitStack, data_dir: Path, database: str, environ: Mapping[str, str]) -> Stores:
    """Redis and Postgres URLs for the demo; embedded servers are stopped when `stack` closes."""
    if not _DB_NAME.match(database):
        raise StoreError(f"database name {database!r} must match {_DB_NAME.pattern}")
    redis_url = environ.get("REDIS_URL", "").strip()
    embedded_redis = not redis_url
    if embedded_redis:
        from soroka.devservers import EmbeddedRedis

        log.info("REDIS_URL is not set: starting an embedded Redis under %s", data_dir / "redis")
        redis_url = stack.enter_context(EmbeddedRedis(data_dir / "redis")).url
    server_url = environ.get("DATABASE_URL", "").strip()
    embedded_postgres = not server_url
    if embedded_postgres:
        from soroka.devservers import EmbeddedPostgres

        log.info("DATABASE_URL is not set: starting an embedded PostgreSQL under %s", data_dir / "postgres")
        database_url = stack.enter_context(EmbeddedPostgres(data_dir / "postgres", database=database)).url
    else:
        database_url = asyncio.run(database_on(server_url, database))
    applied = asyncio.run(migrate(database_url))
    log.info("database %s ready (%d migrations applied now)", database, len(applied))
    return Stores(redis_url, database_url, embedded_redis, embedded_postgres)


async def database_on(server_url: str, name: str) -> str:
    """Create database `name` on the server `server_url` points at, unless it exists; return its URL."""
    url = urlparse(server_url)._replace(path=f"/{name}").geturl()
    try:
        await ensure_database(url)
    except MigrationError as e:
        raise StoreError(str(e)) from e
    except (OSError, asyncpg.PostgresError, TimeoutError) as e:
        raise StoreError(f"cannot connect to DATABASE_URL: {e}; unset it to use an embedded server") from e
    return url
