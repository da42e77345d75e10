"""Schema migrations: numbered SQL files applied once each, recorded in `schema_migrations`."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlparse

import asyncpg

log = logging.getLogger(__name__)
_LOCK_ID = 0x50_52_4F_4B  # advisory lock: one migrator at a time across processes


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


class MigrationError(Exception):
    """The database's recorded migrations disagree with this build's files."""


def available_migrations() -> list[Migration]:
    folder = resources.files("soroka.storage") / "migrations"
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            out.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(out, key=lambda m: m.version)


async def applied_migrations(conn: asyncpg.Connection) -> dict[int, str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    return {int(r["version"]): str(r["checksum"]) for r in rows}


_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")


async def ensure_database(dsn: str) -> bool:
    """Create the database `dsn` names (via the server's `postgres` database) unless it exists.

    Returns True if it was created.
    """
    url = urlparse(dsn)
    name = url.path.lstrip("/")
    if not _DB_NAME.match(name):
        raise MigrationError(f"database name {name!r} must match {_DB_NAME.pattern}")
    conn = await asyncpg.connect(url._replace(path="/postgres").geturl(), timeout=10)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        log.info("created database %s", name)
        return True
    except asyncpg.DuplicateDatabaseError:
        return False  # created meanwhile by another process
    finally:
        await conn.close()


async def migrate(dsn: str) -> list[Migration]:
    """Apply every pending migration in its own transaction; returns the ones applied."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        try:
            done = await applied_migrations(conn)
            applied = []
            for m in available_migrations():
                if m.version in done:
                    if done[m.version] != m.checksum:
                        raise MigrationError(
                            f"migration {m.version:04d}_{m.name} was changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
                log.info("applied migration %04d_%s", m.version, m.name)
                applied.append(m)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    finally:
        await conn.close()


async def pending_migrations(dsn: str) -> list[Migration]:
    conn = await asyncpg.connect(dsn)
    try:
        done = await applied_migrations(conn)
    finally:
        await conn.close()
    return [m for m in available_migrations() if m.version not in done]
