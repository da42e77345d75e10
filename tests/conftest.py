"""Shared fixtures: real Redis and Postgres from the environment, or embedded servers when none is reachable."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse

import pytest

from shared_paths import KLINES_DIR, RESOURCES, SHARED

__all__ = ["KLINES_DIR", "RESOURCES", "SHARED"]


def _reachable(url: str) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 0), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if _reachable(url):
        yield url
        return
    from soroka.devservers import EmbeddedRedis

    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if _reachable(url):
        yield url
        return
    from soroka.devservers import EmbeddedPostgres

    with EmbeddedPostgres(tmp_path_factory.mktemp("pg")) as server:
        yield server.url


@pytest.fixture
def strategy() -> str:
    """A unique strategy name: every test gets its own stream keys."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    return redis_server_url


@pytest.fixture
async def redis_client(redis_url: str, strategy: str) -> AsyncIterator[object]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"soroka:{strategy}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database per test (dropped afterwards), on the session's server."""
    import asyncpg

    name = f"soroka_t_{uuid.uuid4().hex[:12]}"
    u = urlparse(postgres_server_url)
    admin = u._replace(path="/postgres").geturl()

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield u._replace(path=f"/{name}").geturl()
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[object]:
    """A connection pool on a fresh, migrated database."""
    import asyncpg

    from soroka.storage.migrating import migrate

    await migrate(database_url)
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=8)
    yield p
    await p.close()
