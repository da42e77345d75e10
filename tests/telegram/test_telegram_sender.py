"""The Telegram sender over aiogram against the fake Bot API: limits kept, 429s waited out, errors classified."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram_fakes import TOKEN, FakeClock, RunningFake

from soroka.core.configuring import load_settings
from soroka.core.settings import ConfigError, PublishSettings
from soroka.fake_telegram.entities import parse_html
from soroka.publish.formatting import visible_length
from soroka.publish.ratelimiting import RateLimiter, Window
from soroka.publish.telegram import (
    ConsoleSink,
    PermanentDeliveryError,
    TelegramSender,
    TemporaryDeliveryError,
    build_sink,
)

Start = Callable[..., AbstractAsyncContextManager[RunningFake]]
CHAT = "-1001234567"


def _settings(url: str, token: str | None = TOKEN, **kw: str) -> PublishSettings:
    env = {"TELEGRAM_API_URL": url, "TELEGRAM_CHAT_ID": CHAT, **kw}
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    return load_settings(PublishSettings, environ=env)


@asynccontextmanager
async def _sender(url: str, clock: FakeClock, **kw: Any) -> AsyncIterator[TelegramSender]:
    limiter = kw.pop("limiter", None) or RateLimiter.telegram(20, 30, clock=clock, sleep=clock.sleep)
    sender = TelegramSender.from_settings(_settings(url), limiter=limiter, sleep=clock.sleep, **kw)
    try:
        yield sender
    finally:
        await sender.close()


async def _admin(url: str, fault: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        (await client.post("/fake/faults", json=fault)).raise_for_status()


async def test_send_reply_and_edit_are_delivered(start_fake: Start, fake_clock: FakeClock) -> None:
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock) as sender:
        assert await sender.check() == "soroka_fake_bot"
        signal = await sender.send(CHAT, "<b>BTCUSDT</b> ▲")
        report = await sender.send(CHAT, "<i>report</i>", reply_to=signal.message_id)
        await sender.edit(CHAT, signal.message_id, "<b>BTCUSDT</b> ▲ edited")
        await sender.edit(CHAT, signal.message_id, "<b>BTCUSDT</b> ▲ edited")  # not modified: still a success
        posted = fake.state.messages(CHAT)
    assert (signal.message_id, report.message_id) == (1, 2)
    assert posted[1]["reply_to"] == 1 and posted[0]["text"] == "<b>BTCUSDT</b> ▲ edited"
    assert sender.stats.sent == 2 and sender.stats.edited == 1 and sender.stats.not_modified == 1


async def test_429_is_waited_out_and_the_message_delivered(start_fake: Start, fake_clock: FakeClock) -> None:
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock) as sender:
        await _admin(fake.url, {"kind": "retry_after", "retry_after": 3, "count": 2, "chat_id": CHAT})
        sent = await sender.send(CHAT, "after the flood")
        posted = fake.state.messages(CHAT)
    assert sent.message_id == 1 and [m["text"] for m in posted] == ["after the flood"]
    assert sender.stats.retry_after == 2 and sender.stats.retry_after_seconds == 6
    assert fake_clock.sleeps.count(3.0) == 2


async def test_429_real_wait_of_one_second(start_fake: Start) -> None:
    async with start_fake() as fake:
        sender = TelegramSender.from_settings(_settings(fake.url))
        try:
            await _admin(fake.url, {"kind": "retry_after", "retry_after": 1})
            started = time.monotonic()
            await sender.send(CHAT, "x")
            elapsed = time.monotonic() - started
        finally:
            await sender.close()
    assert 1.0 <= elapsed < 3.0 and sender.stats.retry_after == 1


async def test_burst_of_50_never_exceeds_the_per_chat_limit(start_fake: Start, fake_clock: FakeClock) -> None:
    # Server and limiter share one fake clock: 20/min means the burst spans ~2.5 fake minutes, ~0 real time.
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock) as sender:
        sent = await asyncio.gather(*(sender.send(CHAT, f"signal {i}") for i in range(50)))
        stats = fake.state.snapshot()
    assert sorted(s.message_id for s in sent) == list(range(1, 51))
    assert stats["too_many_requests"] == 0 and stats["sent"] == 50
    assert stats["max_per_chat_in_window"] == 20
    assert sender.limiter.stats.waits >= 49 and sender.stats.max_queue_depth >= 40
    assert sender.stats.retry_after == 0


async def test_burst_in_real_time_against_a_fast_window(start_fake: Start) -> None:
    # 10 per second per chat on both sides, real clocks, three chats at once: no 429 despite latency jitter.
    # The slack absorbs how much later one request can reach the server than the next (a loaded machine).
    limiter = RateLimiter((Window(10, 1.0, slack=0.3),), (Window(30, 1.0, slack=0.3),))
    async with start_fake(per_chat_limit=10, per_chat_window=1.0) as fake:
        sender = TelegramSender.from_settings(_settings(fake.url), limiter=limiter)
        try:
            await asyncio.gather(*(sender.send(chat, f"n{i}") for i in range(25) for chat in ("1", "2", "3")))
        finally:
            await sender.close()
        stats = fake.state.snapshot()
    assert stats["sent"] == 75 and stats["too_many_requests"] == 0
    assert stats["max_per_chat_in_window"] <= 10


async def test_refusals_are_permanent_errors(start_fake: Start, fake_clock: FakeClock) -> None:
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock) as sender:
        await _admin(fake.url, {"kind": "forbidden", "chat_id": CHAT})
        with pytest.raises(PermanentDeliveryError, match="bot is not a member of the channel chat"):
            await sender.send(CHAT, "x")
        with pytest.raises(PermanentDeliveryError, match="can't parse entities"):
            await sender.send(CHAT, "<b>unclosed")
        with pytest.raises(PermanentDeliveryError, match="message to edit not found"):
            await sender.edit(CHAT, 42, "x")
    assert sender.stats.failed_permanent == 3 and sender.stats.sent == 0


async def test_network_drops_and_5xx_are_retried_then_reported_as_temporary(
    start_fake: Start, fake_clock: FakeClock
) -> None:
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock, max_attempts=3) as sender:
        await _admin(fake.url, {"kind": "drop"})
        await _admin(fake.url, {"kind": "bad_gateway"})
        delivered = await sender.send(CHAT, "eventually")
        await _admin(fake.url, {"kind": "server_error", "count": 3, "status": 503})
        with pytest.raises(TemporaryDeliveryError, match="gave up after 3 attempts"):
            await sender.send(CHAT, "never")
    assert delivered.message_id == 1
    assert (
        sender.stats.network_error == 5 and sender.stats.retried == 4 and sender.stats.failed_temporary == 1
    )
    backoffs = [s for s in fake_clock.sleeps if s >= 0.25]
    assert len(backoffs) >= 4 and all(s <= 30 for s in backoffs)


async def test_long_texts_are_split_with_replies_chained_to_the_first(
    start_fake: Start, fake_clock: FakeClock
) -> None:
    line = '<b>BTCUSDT</b> &amp; <i>close</i> <code>67,123.45</code> <a href="https://x.test/?a=1&amp;b=2">chart</a>'
    text = (
        "<pre>" + "\n".join(f"row {i} &lt;ok&gt;" for i in range(200)) + "</pre>\n" + "\n".join([line] * 150)
    )
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock) as sender:
        sent = await sender.send(CHAT, text, reply_to=None)
        posted = fake.state.messages(CHAT)
    assert len(posted) == 1 + len(sent.extra_message_ids) >= 2
    assert all(visible_length(m["text"]) <= 4096 for m in posted)
    assert all(parse_html(m["text"]) for m in posted)  # the fake parsed each part: tags balanced
    assert [m["reply_to"] for m in posted[1:]] == [sent.message_id] * (len(posted) - 1)
    assert sender.stats.split == 1


async def test_the_token_never_appears_in_logs_errors_or_reprs(
    start_fake: Start, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    async with start_fake(clock=fake_clock) as fake, _sender(fake.url, fake_clock, max_attempts=2) as sender:
        await sender.send(CHAT, "hello")
        for fault in ({"kind": "forbidden"}, {"kind": "unauthorized"}, {"kind": "drop", "count": 2}):
            await _admin(fake.url, fault)
            with pytest.raises((PermanentDeliveryError, TemporaryDeliveryError)) as err:
                await sender.send(CHAT, "x")
            errors += [str(err.value), repr(err.value), repr(err.value.__cause__)]
        await _admin(fake.url, {"kind": "retry_after"})
        await sender.send(CHAT, "after 429")
        errors.append(repr(sender))
        settings = _settings(fake.url)
    assert caplog.records and "telegram: sent" in caplog.text
    assert TOKEN not in caplog.text and "SECRET" not in caplog.text
    assert not [e for e in errors if TOKEN in e]
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


async def test_token_from_a_mounted_file(start_fake: Start, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    async with start_fake(token=TOKEN) as fake:
        settings = _settings(fake.url, token=None, TELEGRAM_TOKEN_FILE=str(tmp_path / "token"))
        sender = build_sink(settings)
        assert isinstance(sender, TelegramSender)
        try:
            assert (await sender.send(CHAT, "from file")).message_id == 1
        finally:
            await sender.close()
    with pytest.raises(ConfigError, match="TELEGRAM_TOKEN_FILE"):
        build_sink(_settings(fake.url, token=None, TELEGRAM_TOKEN_FILE=str(tmp_path / "missing")))


def test_malformed_token_is_a_configuration_error_that_hides_it() -> None:
    with pytest.raises(ConfigError) as err:
        TelegramSender.from_settings(_settings("http://127.0.0.1:9", token="not-a-token"))
    assert "not-a-token" not in str(err.value)


async def test_console_sink_without_token() -> None:
    out = io.StringIO()
    sink = build_sink(_settings("http://127.0.0.1:9", token=None), stream=out)
    assert isinstance(sink, ConsoleSink)
    first = await sink.send(CHAT, "<b>first</b>")
    second = await sink.send(CHAT, "second", reply_to=first.message_id)
    edited = await sink.edit(CHAT, first.message_id, "<b>first</b> edited")
    long = await sink.send("@other", "\n".join(["y" * 100] * 60))
    await sink.close()
    assert (first.message_id, second.message_id, edited.message_id) == (1, 2, 1)
    assert long.message_id == 1 and len(long.extra_message_ids) == 1
    printed = out.getvalue()
    assert "<b>first</b>" in printed and "reply_to=1" in printed and "edit message_id=1" in printed
    assert sink.stats.sent == 4 and sink.stats.edited == 1


async def test_limiter_spaces_calls_per_chat_and_overall(fake_clock: FakeClock) -> None:
    limiter = RateLimiter((Window(2, 10.0),), (Window(3, 1.0),), clock=fake_clock, sleep=fake_clock.sleep)
    start = fake_clock.now
    granted: list[tuple[str, float]] = []

    async def call(chat: str) -> None:
        await limiter.acquire(chat)
        granted.append((chat, fake_clock.now - start))

    tasks = [asyncio.create_task(call(chat)) for chat in ("a", "a", "a", "b", "c", "d")]
    await asyncio.sleep(0)
    assert limiter.queue_depth() >= 1
    await asyncio.gather(*tasks)
    a_times = [t for c, t in granted if c == "a"]
    assert a_times[:2] == [0.0, 0.0] and a_times[2] >= 10.0  # the third call to "a" waits for its window
    assert limiter.stats.granted == 6 and limiter.stats.waits >= 1 and limiter.stats.waited_seconds >= 10.0
    assert limiter.queue_depth() == 0
    times = sorted(t for _, t in granted)
    assert all(times[i + 3] - times[i] >= 1.0 for i in range(len(times) - 3))  # never 4 in one second
