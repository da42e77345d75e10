"""Embedded Redis and Postgres start on a free TCP port, serve a real client, keep data and stop cleanly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from soroka.devservers import EmbeddedPostgres, EmbeddedRedis, EmbeddedServerError, package_dir

pytestmark = pytest.mark.timeout(60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` from /proc (Linux), to check a server leaves no worker behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def test_embedded_redis_serves_streams_over_tcp_and_stops(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        pid = server.pid
        assert pid is not None and _alive(pid)
        client = aioredis.from_url(server.url)
        try:
            await client.xadd("soroka:t:candles", {"v": "1"})
            await client.xgroup_create("soroka:t:candles", "analyze", id="0")
            got = await client.xreadgroup("analyze", "c1", {"soroka:t:candles": ">"}, count=10)
            assert got[0][1][0][1] == {b"v": b"1"}
        finally:
            await client.aclose()
    assert not _alive(pid)
    assert not _listening(server.port)


async def test_embedded_redis_keeps_data_between_runs(tmp_path: Path) -> None:
    for expected in (1, 2):
        with EmbeddedRedis(tmp_path / "redis") as server:
            client = aioredis.from_url(server.url)
            try:
                assert await client.incr("runs") == expected
            finally:
                await client.aclose()


async def test_embedded_postgres_round_trip_then_no_process_left(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg", database="demo") as server:
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/demo"
        pid = server.pid
        assert pid is not None and _alive(pid)
        workers = _children(pid)
        assert workers, "the postmaster has background workers"
        conn = await asyncpg.connect(server.url)
        try:
            await conn.execute("CREATE TABLE t (symbol text PRIMARY KEY, close double precision)")
            await conn.execute("INSERT INTO t VALUES ($1, $2)", "BTCUSDT", 97_000.5)
            assert await conn.fetchval("SELECT close FROM t WHERE symbol = 'BTCUSDT'") == 97_000.5
        finally:
            await conn.close()
    assert not _alive(pid)
    assert not any(_alive(w) for w in workers)
    assert not _listening(server.port)


async def test_embedded_postgres_keeps_data_between_runs(tmp_path: Path) -> None:
    for expected in (1, 2):
        with EmbeddedPostgres(tmp_path / "pg") as server:
            conn = await asyncpg.connect(server.url)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS runs (n int)")
                await conn.execute("INSERT INTO runs VALUES (1)")
                assert await conn.fetchval("SELECT count(*) FROM runs") == expected
            finally:
                await conn.close()


def test_server_stops_when_the_block_raises(tmp_path: Path) -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), EmbeddedRedis(tmp_path / "redis") as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None and not _alive(pid)


def test_start_and_stop_without_a_with_block(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg").start()
    pid = server.pid
    assert pid is not None and _listening(server.port)
    server.stop()
    server.stop()  # idempotent
    assert not _alive(pid)


def test_missing_package_says_to_install_the_embedded_extra() -> None:
    with pytest.raises(EmbeddedServerError, match=r"install soroka\[embedded\].*REDIS_URL"):
        package_dir("soroka_no_such_server_package", "embedded Redis", "REDIS_URL")


def test_bad_database_name_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedServerError, match="database"):
        EmbeddedPostgres(tmp_path / "pg", database="drop table; --")
    assert not (tmp_path / "pg").exists()
