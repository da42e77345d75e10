"""The fake Telegram's HTTP face: Bot API routes (/bot{token}/{method}) and admin routes under /fake/."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from soroka.fake_telegram.state import (
    ApiError,
    BadGateway,
    DropConnection,
    FakeTelegram,
    FakeTelegramConfig,
    Fault,
    FaultKind,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_JSON_PARAMS = ("reply_parameters", "link_preview_options", "reply_markup", "entities")


class FaultRequest(BaseModel):
    """POST /fake/faults: the next ``count`` matching requests fail this way."""

    kind: FaultKind
    count: int = Field(1, ge=1, le=10_000)
    chat_id: str | None = None
    method: str | None = None
    retry_after: int = Field(1, ge=1, le=3600)
    status: int = Field(500, ge=500, le=599)
    description: str | None = None


class _DropMiddleware:
    """Turns DropConnection into a cut connection: headers sent, body never finished (the server closes it)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except DropConnection:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b'{"ok":', "more_body": True})


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            out[name] = part.get_content()
    return out


async def _params(request: Request) -> dict[str, Any]:
    """Query, then body (JSON, form or multipart) parameters; nested objects decoded from JSON strings."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    body = await request.body()
    if body:
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON body") from None
            if not isinstance(data, dict):
                raise ApiError(400, "Bad Request: JSON body must be an object")
            params.update(data)
        elif kind == "multipart/form-data":
            params.update(_multipart(content_type, body))
        else:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key in _JSON_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value:
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {key.replace('_', ' ')} JSON object") from None
    return params


def _error(e: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": e.code, "description": e.description}
    if e.parameters:
        body["parameters"] = e.parameters
    return JSONResponse(body, status_code=e.code)


def _state(request: Request) -> FakeTelegram:
    state: FakeTelegram = request.app.state.telegram
    return state


State = Annotated[FakeTelegram, Depends(_state)]


def create_app(config: FakeTelegramConfig | None = None) -> FastAPI:
    """The fake server as an ASGI app; its state is ``app.state.telegram`` (a FakeTelegram)."""
    app = FastAPI(title="Soroka fake Telegram Bot API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.telegram = FakeTelegram(config or FakeTelegramConfig())
    app.add_middleware(_DropMiddleware)

    @app.api_route("/bot{token}/{method}", methods=["GET", "POST"], response_model=None)
    async def bot_api(
        token: str, method: str, request: Request, tg: State
    ) -> JSONResponse | PlainTextResponse:
        try:
            result = tg.handle(token, method, await _params(request))
        except ApiError as e:
            tg.record_status(e.code)
            return _error(e)
        except BadGateway:
            tg.record_status(502)
            return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", status_code=502)
        except DropConnection:
            tg.record_status(0)
            raise
        tg.record_status(200)
        return JSONResponse({"ok": True, "result": result})

    @app.get("/fake/messages")
    async def messages(tg: State, chat_id: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
        return tg.messages(chat_id)

    @app.get("/fake/stats")
    async def stats(tg: State) -> dict[str, Any]:
        return tg.snapshot()

    @app.get("/fake/faults")
    async def faults(tg: State) -> list[dict[str, Any]]:
        return [vars(f) for f in tg.faults]

    @app.post("/fake/faults")
    async def add_fault(tg: State, fault: FaultRequest) -> list[dict[str, Any]]:
        tg.add_fault(Fault(kind=fault.kind, remaining=fault.count, chat_id=fault.chat_id, method=fault.method,
                           retry_after=fault.retry_after, status=fault.status, description=fault.description))  # fmt: skip
        return [vars(f) for f in tg.faults]

    @app.delete("/fake/faults")
    async def clear_faults(tg: State) -> dict[str, Literal[True]]:
        tg.faults.clear()
        return {"ok": True}

    @app.post("/fake/reset")
    async def reset(tg: State) -> dict[str, Literal[True]]:
        tg.reset()
        return {"ok": True}

    return app
