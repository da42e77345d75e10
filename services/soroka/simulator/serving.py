"""Serving an ASGI app inside the current event loop on a free port, by URL (tests, demo, benchmarks)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from soroka.observability.health import serve_http


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` until the block exits; yields its base URL (``http://127.0.0.1:PORT``)."""
    async with serve_http(app, host, port, lifespan="on") as bound:
        yield f"http://{host}:{bound}"
