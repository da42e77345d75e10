"""Postgres adapter: pool, migrations and the repositories of every table (all async, asyncpg)."""
