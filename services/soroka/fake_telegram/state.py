"""The fake Telegram's state and rules: chats, messages, validation, rate windows, faults (no HTTP here)."""

from __future__ import annotations

import logging
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from soroka.fake_telegram.entities import EntityError, parse_html

logger = logging.getLogger("soroka.fake_telegram")

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
MAX_TEXT = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
FaultKind = Literal[
    "forbidden", "bad_request", "unauthorized", "retry_after", "server_error", "bad_gateway", "drop"
]
# Methods that post or change a message: they count against the rate limits.
RATED = frozenset({"sendmessage", "editmessagetext"})


class ApiError(Exception):
    """A Bot API error answer: HTTP status = error_code."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


class DropConnection(Exception):
    """Fault injection: the HTTP layer must cut the connection without an answer."""


class BadGateway(Exception):
    """Fault injection: the HTTP layer must answer 502 with a non-JSON body, as a proxy would."""


@dataclass(frozen=True)
class FakeTelegramConfig:
    token: str | None = None  # the only accepted token; None accepts any well-formed token
    chats: frozenset[str] | None = None  # known chat ids / @usernames; None accepts any chat
    per_chat_limit: int = 20
    per_chat_window: float = 60.0
    global_per_second: int = 30
    clock: Callable[[], float] = time.time


@dataclass
class Fault:
    kind: FaultKind
    remaining: int = 1
    chat_id: str | None = None
    method: str | None = None
    retry_after: int = 1
    status: int = 500
    description: str | None = None

    def answer(self) -> Exception:
        defaults: dict[str, tuple[int, str]] = {
            "forbidden": (403, "Forbidden: bot is not a member of the channel chat"),
            "bad_request": (400, "Bad Request: chat not found"),
            "unauthorized": (401, "Unauthorized"),
            "server_error": (self.status, "Internal Server Error"),
        }
        if self.kind == "drop":
            return DropConnection()
        if self.kind == "bad_gateway":
            return BadGateway()
        if self.kind == "retry_after":
            desc = self.description or f"Too Many Requests: retry after {self.retry_after}"
            return ApiError(429, desc, {"retry_after": self.retry_after})
        code, desc = defaults[self.kind]
        return ApiError(code, self.description or desc)


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    date: int
    at: float
    reply_to: int | None
    edits: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id, "message_id": self.message_id, "text": self.text,
            "parse_mode": self.parse_mode, "date": self.date, "at": self.at, "reply_to": self.reply_to,
            "edits": self.edits,
        }  # fmt: skip


@dataclass
class Chat:
    id: int
    type: str
    username: str | None = None
    next_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    window: deque[float] = field(default_factory=deque)
    max_in_window: int = 0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.username:
            out.update(username=self.username, title=self.username)
        elif self.type != "private":
            out["title"] = f"chat {self.id}"
        else:
            out["first_name"] = f"user {self.id}"
        return out


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


class FakeTelegram:
    """Everything the fake server knows; methods take the request's parameters and answer or raise ApiError."""

    def __init__(self, config: FakeTelegramConfig) -> None:
        self.config = config
        self.chats: dict[str, Chat] = {}
        self.faults: list[Fault] = []
        self.global_window: deque[float] = deque()
        self.stats: dict[str, Any] = {}
        self.reset()

    # --- bookkeeping -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget chats, messages, faults and counters (the configuration stays)."""
        self.chats.clear()
        self.faults.clear()
        self.global_window.clear()
        self.stats = {
            "requests": 0, "by_method": {}, "by_status": {}, "sent": 0, "edited": 0,
            "too_many_requests": 0, "rate_limited": 0, "max_global_per_second": 0,
        }  # fmt: skip

    def record_status(self, status: int) -> None:
        by = self.stats["by_status"]
        by[str(status)] = by.get(str(status), 0) + 1
        if status == 429:
            self.stats["too_many_requests"] += 1

    def snapshot(self) -> dict[str, Any]:
        out = dict(self.stats)
        out["per_chat_limit"] = self.config.per_chat_limit
        out["per_chat_window_seconds"] = self.config.per_chat_window
        out["max_per_chat_in_window"] = max((c.max_in_window for c in self.chats.values()), default=0)
        out["max_in_window_by_chat"] = {str(c.id): c.max_in_window for c in self.chats.values()}
        return out

    def messages(self, chat_id: str | None) -> list[dict[str, Any]]:
        if chat_id is not None:
            chat = self._find_chat(chat_id)
            return [m.as_json() for m in chat.messages.values()] if chat else []
        return [
            m.as_json() for c in {id(c): c for c in self.chats.values()}.values() for m in c.messages.values()
        ]

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    # --- request handling --------------------------------------------------------------------------
    def handle(self, token: str, method: str, params: Mapping[str, Any]) -> Any:
        self.stats["requests"] += 1
        by = self.stats["by_method"]
        by[method] = by.get(method, 0) + 1
        if not TOKEN_RE.match(token) or (self.config.token is not None and token != self.config.token):
            raise ApiError(401, "Unauthorized")
        self._inject_fault(method, params)
        name = method.lower()
        if name == "getme":
            bot_id = int(token.split(":", 1)[0])
            return {"id": bot_id, "is_bot": True, "first_name": "Soroka Fake", "username": "soroka_fake_bot",
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}  # fmt: skip
        if name == "sendmessage":
            return self._send(params)
        if name == "editmessagetext":
            return self._edit(params)
        raise ApiError(404, "Not Found")

    def _inject_fault(self, method: str, params: Mapping[str, Any]) -> None:
        chat = str(params.get("chat_id", "")).strip()
        for fault in self.faults:
            if fault.chat_id is not None and fault.chat_id != chat:
                continue
            if fault.method is not None and fault.method.lower() != method.lower():
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.faults.remove(fault)
            logger.info("fake-telegram: injected fault %s for %s chat=%s", fault.kind, method, chat or "-")
            raise fault.answer()

    def _find_chat(self, raw: str) -> Chat | None:
        return self.chats.get(raw.strip())

    def _chat(self, params: Mapping[str, Any]) -> Chat:
        raw = str(params.get("chat_id", "")).strip()
        if not raw:
            raise ApiError(400, "Bad Request: chat_id is empty")
        known = self.config.chats
        chat = self._find_chat(raw)
        if chat is not None:
            return chat
        if known is not None and raw not in known:
            raise ApiError(400, "Bad Request: chat not found")
        if raw.startswith("@"):
            if not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", raw):
                raise ApiError(400, "Bad Request: chat not found")
            chat = Chat(id=-(1_000_000_000_000 + zlib.crc32(raw.lower().encode()) % 1_000_000_000),
                        type="channel", username=raw[1:])  # fmt: skip
        else:
            chat_id = _int(raw, "chat_id")
            kind = "private" if chat_id > 0 else "supergroup" if raw.startswith("-100") else "group"
            chat = Chat(id=chat_id, type=kind)
        self.chats[raw] = chat
        self.chats.setdefault(str(chat.id), chat)
        return chat

    def _text(self, params: Mapping[str, Any]) -> tuple[str, str | None]:
        text = params.get("text")
        if text is None or str(text) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        mode = params.get("parse_mode")
        mode = str(mode) if mode not in (None, "") else None
        if mode is not None and mode.lower() not in ("html", "markdown", "markdownv2"):
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode}")
        plain = text
        if mode is not None and mode.lower() == "html":
            try:
                plain = parse_html(text)
            except EntityError as e:
                raise ApiError(400, f"Bad Request: can't parse entities: {e}") from e
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text, mode

    def _rate(self, chat: Chat) -> None:
        """Sliding windows over accepted calls: per chat (per_chat_window) and global (1 s)."""
        now = self.config.clock()
        cfg = self.config
        while chat.window and now - chat.window[0] >= cfg.per_chat_window:
            chat.window.popleft()
        while self.global_window and now - self.global_window[0] >= 1.0:
            self.global_window.popleft()
        wait = 0.0
        if len(chat.window) >= cfg.per_chat_limit:
            wait = chat.window[len(chat.window) - cfg.per_chat_limit] + cfg.per_chat_window - now
        if len(self.global_window) >= cfg.global_per_second:
            wait = max(wait, self.global_window[len(self.global_window) - cfg.global_per_second] + 1.0 - now)
        if wait > 0:
            self.stats["rate_limited"] += 1
            retry_after = max(1, int(-(-wait // 1)))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        chat.window.append(now)
        self.global_window.append(now)
        chat.max_in_window = max(chat.max_in_window, len(chat.window))
        self.stats["max_global_per_second"] = max(
            self.stats["max_global_per_second"], len(self.global_window)
        )

    def _message(self, chat: Chat, msg: StoredMessage, *, edited: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"message_id": msg.message_id, "date": msg.date, "chat": chat.as_json(),
                               "text": msg.text}  # fmt: skip
        if msg.reply_to is not None and msg.reply_to in chat.messages:
            replied = chat.messages[msg.reply_to]
            out["reply_to_message"] = {"message_id": replied.message_id, "date": replied.date,
                                       "chat": chat.as_json(), "text": replied.text}  # fmt: skip
        if edited and msg.edits:
            out["edit_date"] = msg.edits[-1]["date"]
        return out

    def _reply_target(self, chat: Chat, params: Mapping[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        allow = _bool(params.get("allow_sending_without_reply", False))
        target: int | None = None
        if isinstance(reply, Mapping):
            if reply.get("message_id") is not None:
                target = _int(reply["message_id"], "reply message identifier")
            allow = allow or _bool(reply.get("allow_sending_without_reply", False))
        elif params.get("reply_to_message_id") not in (None, ""):
            target = _int(params["reply_to_message_id"], "reply message identifier")
        if target is not None and target not in chat.messages:
            if not allow:
                raise ApiError(400, "Bad Request: message to be replied not found")
            target = None
        return target

    def _send(self, params: Mapping[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text, mode = self._text(params)
        reply_to = self._reply_target(chat, params)
        self._rate(chat)
        now = self.config.clock()
        msg = StoredMessage(chat.id, chat.next_id, text, mode, int(now), now, reply_to)
        chat.next_id += 1
        chat.messages[msg.message_id] = msg
        self.stats["sent"] += 1
        logger.info("fake-telegram: sendMessage chat=%s message_id=%d reply_to=%s chars=%d: %s",
                    chat.id, msg.message_id, reply_to, len(text), text[:80].replace("\n", " | "))  # fmt: skip
        return self._message(chat, msg)

    def _edit(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake server")
        chat = self._chat(params)
        if params.get("message_id") in (None, ""):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message_id = _int(params["message_id"], "message identifier")
        text, mode = self._text(params)
        msg = chat.messages.get(message_id)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.text == text and msg.parse_mode == mode:
            raise ApiError(400, NOT_MODIFIED)
        self._rate(chat)
        now = self.config.clock()
        msg.edits.append({"date": int(now), "at": now, "old_text": msg.text, "text": text})
        msg.text, msg.parse_mode = text, mode
        self.stats["edited"] += 1
        logger.info(
            "fake-telegram: editMessageText chat=%s message_id=%d chars=%d", chat.id, message_id, len(text)
        )
        return self._message(chat, msg, edited=True)
