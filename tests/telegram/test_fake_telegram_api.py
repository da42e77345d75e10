"""The fake Telegram Bot API behaves like Telegram: envelopes, validation, rate limits, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import ReplyParameters
from telegram_fakes import TOKEN, FakeClock, RunningFake

Start = Callable[..., AbstractAsyncContextManager[RunningFake]]


@pytest.fixture
async def bot_factory() -> AsyncIterator[Callable[[str], Bot]]:
    bots: list[Bot] = []

    def make(url: str) -> Bot:
        bot = Bot(
            TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(url), timeout=10),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.session.close()


async def _post(url: str, method: str, token: str = TOKEN, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(f"/bot{token}/{method}", **kw)


async def test_send_reply_and_edit_round_trip_through_aiogram(start_fake: Start, bot_factory: Any) -> None:
    async with start_fake() as fake:
        bot = bot_factory(fake.url)
        me = await bot.get_me()
        first = await bot.send_message(-1001234, "<b>BTCUSDT</b> &amp; co")
        reply = await bot.send_message(
            -1001234, "report", reply_parameters=ReplyParameters(message_id=first.message_id)
        )
        other = await bot.send_message("@soroka_signals", "hello")
        edited = await bot.edit_message_text("<i>new</i>", chat_id=-1001234, message_id=first.message_id)
        async with httpx.AsyncClient(base_url=fake.url) as client:
            posted = (await client.get("/fake/messages", params={"chat_id": "-1001234"})).json()
    assert me.id == 123456 and me.is_bot
    assert (first.message_id, reply.message_id, other.message_id) == (1, 2, 1)  # ids count per chat
    assert (
        first.chat.id == -1001234
        and first.chat.type == "supergroup"
        and first.text == "<b>BTCUSDT</b> &amp; co"
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.message_id == 1
    assert other.chat.type == "channel" and other.chat.username == "soroka_signals"
    assert not isinstance(edited, bool) and edited.edit_date is not None
    assert [m["message_id"] for m in posted] == [1, 2]
    assert (
        posted[0]["text"] == "<i>new</i>" and posted[0]["edits"][0]["old_text"] == "<b>BTCUSDT</b> &amp; co"
    )
    assert posted[1]["reply_to"] == 1


async def test_json_query_and_legacy_parameters_are_accepted(start_fake: Start) -> None:
    async with start_fake() as fake:
        a = await _post(
            fake.url, "sendMessage", json={"chat_id": 5, "text": "one", "disable_web_page_preview": True}
        )
        b = await _post(
            fake.url, "sendMessage", params={"chat_id": "5", "text": "two", "reply_to_message_id": "1"}
        )
        c = await _post(
            fake.url, "sendMessage",
            data={"chat_id": "5", "text": "three", "reply_parameters": '{"message_id": 99, "allow_sending_without_reply": true}'},
        )  # fmt: skip
    assert a.json()["result"]["chat"] == {"id": 5, "type": "private", "first_name": "user 5"}
    assert b.json()["result"]["reply_to_message"]["message_id"] == 1
    assert c.status_code == 200 and "reply_to_message" not in c.json()["result"]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": "1", "text": "<b>open", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Can't find end tag"),
        ({"chat_id": "1", "text": "a <x> b", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unsupported start tag"),
        ({"chat_id": "1", "text": "<b><i>x</b></i>", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unmatched end tag"),
        ({"chat_id": "1", "text": "AT&T", "parse_mode": "HTML"}, "Bad Request: can't parse entities: Unsupported HTML entity"),
        ({"chat_id": "1", "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": "1", "text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"chat_id": "1", "text": "hi", "reply_parameters": '{"message_id": 7}'}, "Bad Request: message to be replied not found"),
    ],
)  # fmt: skip
async def test_invalid_messages_are_refused_like_telegram(
    start_fake: Start, params: dict[str, str], description: str
) -> None:
    async with start_fake() as fake:
        r = await _post(fake.url, "sendMessage", data=params)
    body = r.json()
    assert r.status_code == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith(description)


async def test_text_length_is_counted_after_entity_parsing(start_fake: Start) -> None:
    text = "<b>" + "&amp;" * 4096 + "</b>"  # 4096 visible characters, far more raw ones
    async with start_fake() as fake:
        ok = await _post(fake.url, "sendMessage", data={"chat_id": "1", "text": text, "parse_mode": "HTML"})
        too_long = await _post(
            fake.url, "sendMessage", data={"chat_id": "1", "text": text + "!", "parse_mode": "HTML"}
        )
    assert ok.status_code == 200
    assert too_long.json()["description"] == "Bad Request: message is too long"


async def test_unknown_chat_token_method_and_edit_errors(start_fake: Start) -> None:
    async with start_fake(chats=frozenset({"-100777"}), token=TOKEN) as fake:
        unknown_chat = await _post(fake.url, "sendMessage", data={"chat_id": "-100888", "text": "x"})
        bad_token = await _post(
            fake.url, "sendMessage", token="123456:other", data={"chat_id": "-100777", "text": "x"}
        )
        unknown_method = await _post(fake.url, "sendPhoto", data={"chat_id": "-100777"})
        missing = await _post(
            fake.url, "editMessageText", data={"chat_id": "-100777", "message_id": "5", "text": "x"}
        )
        await _post(fake.url, "sendMessage", data={"chat_id": "-100777", "text": "same"})
        same = await _post(
            fake.url, "editMessageText", data={"chat_id": "-100777", "message_id": "1", "text": "same"}
        )
    assert (unknown_chat.status_code, unknown_chat.json()["description"]) == (
        400,
        "Bad Request: chat not found",
    )
    assert (bad_token.status_code, bad_token.json()["description"]) == (401, "Unauthorized")
    assert unknown_method.status_code == 404
    assert missing.json()["description"] == "Bad Request: message to edit not found"
    assert same.status_code == 400 and same.json()["description"].startswith(
        "Bad Request: message is not modified"
    )


async def test_per_chat_limit_answers_429_with_the_true_wait(
    start_fake: Start, fake_clock: FakeClock
) -> None:
    async with start_fake(per_chat_limit=3, clock=fake_clock) as fake:
        for i in range(3):
            await _post(fake.url, "sendMessage", data={"chat_id": "9", "text": f"m{i}"})
            fake_clock.now += 10.0  # sent at t=0, 10, 20
        fake_clock.now = fake_clock.now - 30.0 + 25.0  # t=25: the first leaves the window at t=60
        limited = await _post(fake.url, "sendMessage", data={"chat_id": "9", "text": "m3"})
        other_chat = await _post(fake.url, "sendMessage", data={"chat_id": "10", "text": "fine"})
        fake_clock.now += 35.0  # t=60
        later = await _post(fake.url, "sendMessage", data={"chat_id": "9", "text": "m3"})
        stats = fake.state.snapshot()
    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 35",
        "parameters": {"retry_after": 35},
    }  # fmt: skip
    assert other_chat.status_code == 200 and later.status_code == 200
    assert stats["too_many_requests"] == 1 and stats["max_per_chat_in_window"] == 3


async def test_global_limit_per_second(start_fake: Start, fake_clock: FakeClock) -> None:
    async with start_fake(global_per_second=2, clock=fake_clock) as fake:
        codes = [
            (await _post(fake.url, "sendMessage", data={"chat_id": str(c), "text": "x"})).status_code
            for c in range(3)
        ]
        fake_clock.now += 1.0
        after = await _post(fake.url, "sendMessage", data={"chat_id": "3", "text": "x"})
    assert codes == [200, 200, 429] and after.status_code == 200


async def test_injected_faults_reach_aiogram_as_its_exceptions(start_fake: Start, bot_factory: Any) -> None:
    async with start_fake() as fake, httpx.AsyncClient(base_url=fake.url) as admin:
        bot = bot_factory(fake.url)
        await admin.post("/fake/faults", json={"kind": "forbidden", "chat_id": "-1005", "count": 2})
        await admin.post("/fake/faults", json={"kind": "retry_after", "retry_after": 7, "chat_id": "-1006"})
        for _ in range(2):
            with pytest.raises(TelegramForbiddenError, match="bot is not a member of the channel chat"):
                await bot.send_message(-1005, "x")
        delivered = await bot.send_message(-1005, "x")
        with pytest.raises(TelegramRetryAfter) as retry:
            await bot.send_message(-1006, "y")
        await admin.post("/fake/faults", json={"kind": "bad_request", "description": "Bad Request: nope"})
        with pytest.raises(TelegramBadRequest, match="nope"):
            await bot.send_message(-1006, "y")
        stats = (await admin.get("/fake/stats")).json()
    assert delivered.message_id == 1 and retry.value.retry_after == 7
    assert stats["too_many_requests"] == 1 and stats["by_status"]["403"] == 2
