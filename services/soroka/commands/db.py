"""`soroka db migrate|status`: apply or list schema migrations."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from urllib.parse import urlparse

from soroka.core.configuring import read_env_file
from soroka.core.settings import ConnectionSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["migrate", "status"])
    parser.add_argument("--env-file", type=Path, default=None, help="take DATABASE_URL from this .env file")
    parser.add_argument("--database-url", default=None, help="overrides DATABASE_URL")
    parser.add_argument(
        "--no-create", action="store_true", help="fail instead of creating a database that does not exist"
    )


def _dsn(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    if "DATABASE_URL" in os.environ:
        return os.environ["DATABASE_URL"]
    if args.env_file is not None:
        env = read_env_file(args.env_file)
        if "DATABASE_URL" in env:
            return env["DATABASE_URL"]
    return str(ConnectionSettings.model_fields["database_url"].default)


def run(args: argparse.Namespace) -> int:
    from soroka.storage.migrating import available_migrations, ensure_database, migrate, pending_migrations

    dsn = _dsn(args)
    if args.action == "migrate":
        if not args.no_create and asyncio.run(ensure_database(dsn)):
            print(f"created database {urlparse(dsn).path.lstrip('/')}")
        applied = asyncio.run(migrate(dsn))
        total = len(available_migrations())
        print(f"schema up to date: {len(applied)} applied now, {total} in total")
    else:
        pending = asyncio.run(pending_migrations(dsn))
        for m in available_migrations():
            state = "pending" if m in pending else "applied"
            print(f"{m.version:04d}_{m.name}: {state}")
    return 0
