"""Connection pools for the services; schema readiness is checked, never created implicitly."""

from __future__ import annotations

import asyncpg

from soroka.storage.migrating import pending_migrations


class SchemaNotReady(Exception):
    """The database lacks migrations this build needs: run `soroka db migrate`."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 5) -> asyncpg.Pool:
    pending = await pending_migrations(dsn)
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SchemaNotReady(f"database schema is behind ({names} pending): run `soroka db migrate`")
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool
