"""Telegram delivery: the aiogram-based sender (rate limited, retrying, splitting) and a console sink.

Outcomes say what the caller should do: a returned `SentMessage` (ack), `TemporaryDeliveryError`
(network or Telegram trouble that outlived the retries: do not ack, retry later) or
`PermanentDeliveryError` (Telegram refused the message: dead-letter it). 429s are waited out, never
dropped. The bot token never appears in logs, errors or reprs.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, TextIO, TypeVar

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import EditMessageText, GetMe, SendMessage, TelegramMethod
from aiogram.types import ReplyParameters
from aiogram.utils.token import TokenValidationError

from soroka.core.settings import ConfigError, TelegramSettings
from soroka.publish.formatting import split_html
from soroka.publish.ratelimiting import RateLimiter, Sleep

logger = logging.getLogger("soroka.publish.telegram")
T = TypeVar("T")
_PERMANENT = (TelegramForbiddenError, TelegramUnauthorizedError, TelegramNotFound, TelegramConflictError,
              TelegramEntityTooLarge)  # fmt: skip
_TEMPORARY = (TelegramNetworkError, TelegramServerError, ClientDecodeError, TelegramAPIError)


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentDeliveryError(DeliveryError):
    """Telegram refused the message (400/401/403...): retrying will not help; dead-letter it."""


class TemporaryDeliveryError(DeliveryError):
    """Network or server trouble outlived the retries: do not ack, the message is retried later."""


@dataclass(frozen=True)
class SentMessage:
    chat_id: str
    message_id: int  # the first (or only) part: reports reply to it
    extra_message_ids: tuple[int, ...] = ()  # further parts of a split text


@dataclass
class DeliveryStats:
    sent: int = 0  # messages (parts) posted
    edited: int = 0
    not_modified: int = 0  # edits Telegram found identical (treated as success)
    split: int = 0  # texts that needed more than one message
    retried: int = 0  # calls repeated after a network error or 5xx
    retry_after: int = 0  # 429s waited out
    retry_after_seconds: float = 0.0
    network_error: int = 0
    failed_permanent: int = 0
    failed_temporary: int = 0  # calls given up after max_attempts (the caller retries later)
    max_queue_depth: int = 0  # most sends/edits waiting for their chat at once


class MessageSink(Protocol):
    stats: DeliveryStats

    async def send(self, chat_id: str | int, text: str, reply_to: int | None = None) -> SentMessage: ...
    async def edit(self, chat_id: str | int, message_id: int, text: str) -> SentMessage: ...
    async def close(self) -> None: ...


@dataclass
class _Backoff:
    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    jitter: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        """Equal jitter: half the exponential step fixed, half random."""
        step = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return step / 2 + step / 2 * self.jitter()


class TelegramSender:
    """Posts through the Bot API with aiogram; see the module docstring for the outcomes."""

    def __init__(
        self,
        bot: Bot,
        limiter: RateLimiter,
        *,
        api_url: str = "",
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.bot, self.limiter, self.api_url, self._sleep = bot, limiter, api_url, sleep
        self._backoff = _Backoff(max(1, max_attempts), backoff_base, backoff_cap, jitter)
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self.stats = DeliveryStats()

    @classmethod
    def from_settings(
        cls,
        settings: TelegramSettings,
        *,
        limiter: RateLimiter | None = None,
        sleep: Sleep = asyncio.sleep,
        per_chat_min_interval: float = 1.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
    ) -> TelegramSender:
        """Bot and limiter from the settings; ConfigError (stop at start) without a usable token."""
        token = _token(settings)
        if token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN (or TELEGRAM_TOKEN_FILE) is empty: no Telegram sender")
        url = settings.telegram_api_url.rstrip("/")
        try:
            bot = Bot(
                token,
                session=AiohttpSession(api=TelegramAPIServer.from_base(url), timeout=10),
                default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
            )
        except TokenValidationError:
            raise ConfigError("TELEGRAM_BOT_TOKEN is malformed: expected <digits>:<secret>") from None
        limiter = limiter or RateLimiter.telegram(
            settings.telegram_per_chat_per_minute, settings.telegram_global_per_second,
            per_chat_min_interval=per_chat_min_interval, sleep=sleep,
        )  # fmt: skip
        return cls(
            bot, limiter, api_url=url, sleep=sleep, max_attempts=max_attempts, backoff_base=backoff_base
        )

    def __repr__(self) -> str:
        return f"TelegramSender(api_url={self.api_url!r}, token='***')"

    def _redact(self, text: str) -> str:
        token = self.bot.token
        return text.replace(token, "***") if token else text

    async def close(self) -> None:
        await self.bot.session.close()

    async def check(self) -> str:
        """getMe: the bot's username (startup/readiness check)."""
        me = await self._call(None, GetMe(), edit=False)
        return me.username or str(me.id)

    def queue_depth(self, chat_id: str | int | None = None) -> int:
        """Sends and edits waiting for their chat (one chat, or all)."""
        if chat_id is not None:
            return self._waiting.get(str(chat_id), 0)
        return sum(self._waiting.values())

    @asynccontextmanager
    async def _chat_turn(self, chat_id: str | int) -> AsyncIterator[None]:
        """One call at a time per chat: order is kept and split parts stay consecutive.

        Serialising also keeps request latency from bunching calls inside Telegram's window.
        """
        key = str(chat_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        self.stats.max_queue_depth = max(self.stats.max_queue_depth, self.queue_depth())
        waiting = True
        try:
            async with lock:
                self._waiting[key] -= 1
                waiting = False
                yield
        finally:
            if waiting:  # cancelled before its turn
                self._waiting[key] -= 1

    async def send(self, chat_id: str | int, text: str, reply_to: int | None = None) -> SentMessage:
        """Post ``text`` (split if longer than Telegram allows; later parts reply to the first)."""
        parts = split_html(text)
        async with self._chat_turn(chat_id):
            first = await self._send_one(chat_id, parts[0], reply_to)
            extra = [await self._send_one(chat_id, part, first) for part in parts[1:]]
        if extra:
            self.stats.split += 1
        return SentMessage(str(chat_id), first, tuple(extra))

    async def edit(self, chat_id: str | int, message_id: int, text: str) -> SentMessage:
        """Replace a message's text; an identical text counts as done. Overflow parts are sent as replies."""
        parts = split_html(text)
        method = EditMessageText(chat_id=chat_id, message_id=message_id, text=parts[0])
        async with self._chat_turn(chat_id):
            result = await self._call(chat_id, method, edit=True)
            if result is not None:
                self.stats.edited += 1
            extra = [await self._send_one(chat_id, part, message_id) for part in parts[1:]]
        return SentMessage(str(chat_id), message_id, tuple(extra))

    async def _send_one(self, chat_id: str | int, text: str, reply_to: int | None) -> int:
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        message = await self._call(
            chat_id, SendMessage(chat_id=chat_id, text=text, reply_parameters=reply), edit=False
        )
        self.stats.sent += 1
        logger.info("telegram: sent chat=%s message_id=%d reply_to=%s chars=%d",
                    chat_id, message.message_id, reply_to, len(text))  # fmt: skip
        return message.message_id

    async def _call(self, chat_id: str | int | None, method: TelegramMethod[T], *, edit: bool) -> T:
        name = type(method).__name__
        attempt = 0
        while True:
            if chat_id is not None:
                await self.limiter.acquire(chat_id)
            try:
                return await self.bot(method)
            except TelegramRetryAfter as e:
                self.stats.retry_after += 1
                self.stats.retry_after_seconds += e.retry_after
                logger.warning("telegram: 429 on %s chat=%s, waiting %d s", name, chat_id, e.retry_after)
                await self._sleep(float(e.retry_after))
            except TelegramMigrateToChat as e:
                reason = f"chat {chat_id} became {e.migrate_to_chat_id}: set TELEGRAM_CHAT_ID"
                raise self._permanent(reason) from self._cause(e)
            except TelegramBadRequest as e:
                if edit and "message is not modified" in e.message:
                    self.stats.not_modified += 1
                    return None  # type: ignore[return-value]  # nothing to change: the edit is done
                raise self._permanent(f"{name} refused: {e.message}") from self._cause(e)
            except _PERMANENT as e:
                raise self._permanent(f"{name} refused: {e.message}") from self._cause(e)
            except _TEMPORARY as e:
                attempt += 1
                self.stats.network_error += 1
                reason = self._redact(f"{name} failed ({type(e).__name__}): {e.message}")
                if attempt >= self._backoff.max_attempts:
                    self.stats.failed_temporary += 1
                    reason = f"{reason}; gave up after {attempt} attempts"
                    raise TemporaryDeliveryError(reason) from self._cause(e)
                delay = self._backoff.delay(attempt)
                self.stats.retried += 1
                logger.warning("telegram: %s; retry %d in %.2f s", reason, attempt, delay)
                await self._sleep(delay)

    def _permanent(self, reason: str) -> PermanentDeliveryError:
        self.stats.failed_permanent += 1
        reason = self._redact(reason)
        logger.error("telegram: %s (dead-letter)", reason)
        return PermanentDeliveryError(reason)

    def _cause(self, error: Exception) -> Exception | None:
        """The library error to chain, unless its text would leak the token."""
        return None if self.bot.token in str(error) else error


class ConsoleSink:
    """No token configured: messages are printed and logged, with synthetic increasing message ids."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._next: dict[str, int] = {}
        self.stats = DeliveryStats()

    def __repr__(self) -> str:
        return "ConsoleSink()"

    def _print(self, header: str, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"--- {header} ---\n{text}\n")
        stream.flush()

    def _new_id(self, chat_id: str | int) -> int:
        key = str(chat_id)
        self._next[key] = self._next.get(key, 0) + 1
        return self._next[key]

    async def send(self, chat_id: str | int, text: str, reply_to: int | None = None) -> SentMessage:
        ids: list[int] = []
        for part in split_html(text):
            message_id = self._new_id(chat_id)
            target = reply_to if not ids else ids[0]
            self._print(f"telegram (console) chat={chat_id} message_id={message_id} reply_to={target}", part)
            logger.info("console: sent chat=%s message_id=%d reply_to=%s chars=%d", chat_id, message_id, target,
                        len(part))  # fmt: skip
            ids.append(message_id)
            self.stats.sent += 1
        if len(ids) > 1:
            self.stats.split += 1
        return SentMessage(str(chat_id), ids[0], tuple(ids[1:]))

    async def edit(self, chat_id: str | int, message_id: int, text: str) -> SentMessage:
        parts = split_html(text)
        self._print(f"telegram (console) chat={chat_id} edit message_id={message_id}", parts[0])
        self.stats.edited += 1
        extra = [(await self.send(chat_id, part, message_id)).message_id for part in parts[1:]]
        return SentMessage(str(chat_id), message_id, tuple(extra))

    async def close(self) -> None:
        return None


def _token(settings: TelegramSettings) -> str | None:
    try:
        return settings.bot_token()
    except OSError as e:
        raise ConfigError(
            f"TELEGRAM_TOKEN_FILE={settings.telegram_token_file} cannot be read: {e.strerror}"
        ) from e


def build_sink(
    settings: TelegramSettings, *, sleep: Sleep = asyncio.sleep, stream: TextIO | None = None
) -> TelegramSender | ConsoleSink:
    """The Telegram sender when a token is configured, else the console sink."""
    if _token(settings) is None:
        logger.warning("telegram: no bot token configured; messages go to the console")
        return ConsoleSink(stream)
    return TelegramSender.from_settings(settings, sleep=sleep)
