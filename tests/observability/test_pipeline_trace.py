"""One trace follows a candle from the ingest cycle through analyze to the Telegram post and the PnL report.

Each service has its own `Tracing` (its own provider and service name) sharing one in-memory exporter;
the trace context travels only inside the stream messages (W3C traceparent), read by separate consumers.
"""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soroka.analyze.publishing import SignalPublisher
from soroka.analyze.service import AnalyzeMetrics, Analyzer
from soroka.binance.http import BinanceHttpClient
from soroka.core.configuring import load_settings
from soroka.core.messages import CandlesMessage, ReportsStream, SignalMessage, stream_key
from soroka.core.settings import AnalyzeSettings, EvaluateServiceSettings, IngestSettings, PublishSettings
from soroka.evaluate.service import EvaluateMetrics, Evaluator
from soroka.fake_telegram.app import create_app as fake_telegram_app
from soroka.ingest.binance_source import BinanceSource
from soroka.ingest.cycling import IngestCycle
from soroka.ingest.scheduling import ExchangeClock
from soroka.observability.metrics import new_registry
from soroka.observability.tracing import Tracing
from soroka.publish.service import Publisher, PublishMetrics
from soroka.publish.telegram import TelegramSender
from soroka.simulator.app import create_app as simulator_app
from soroka.simulator.clock import ManualClock
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.serving import serve_app
from soroka.streams.consuming import StreamConsumer
from soroka.streams.producing import StreamProducer

MINUTE = 60_000
START = 1_760_000_000_000 - 1_760_000_000_000 % MINUTE
TOKEN = "123456:SECRET-token_value"


async def drain(consumer: StreamConsumer[object]) -> None:
    await consumer.ensure_group()
    while await consumer.poll_once():
        pass


def consumer(
    client: aioredis.Redis, stream: str, group: str, decoder: object, handler: object
) -> StreamConsumer[object]:
    return StreamConsumer(
        client, stream=stream, group=group, consumer=f"{group}-0", message_type=decoder,  # type: ignore[arg-type]
        handler=handler, block_ms=10,  # type: ignore[arg-type]
    )  # fmt: skip


def attr(span: ReadableSpan, key: str) -> object:
    assert span.attributes is not None
    return span.attributes.get(key)


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


async def test_one_trace_follows_a_candle_from_ingest_to_the_telegram_post_and_the_pnl_report(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str, pool: asyncpg.Pool
) -> None:
    market = SyntheticMarket(12, seed=5, start_ms=START, breakouts_per_hour=30)
    planted = next(
        b for b in market.breakouts(START + 3 * 3_600_000)
        if b.type == "BOS_UP" and b.symbol.endswith("USDT") and b.open_time > START + 15 * MINUTE
    )  # fmt: skip
    clock = ManualClock(planted.open_time + MINUTE + 30_000)  # the breakout candle has just closed
    common = {"strategy_name": strategy, "redis_url": redis_url, "database_url": database_url}
    exporter = InMemorySpanExporter()
    tracing = {
        s: Tracing.from_env(s, strategy, exporter=exporter)
        for s in ("ingest", "analyze", "evaluate", "publish")
    }
    candles, signals, reports = (stream_key(strategy, n) for n in ("candles", "signals", "reports"))

    ingest_settings = load_settings(
        IngestSettings,
        environ={},
        universe_size="all",
        candle_window=30,
        binance_base_url="http://unused",
        **common,
    )
    analyzer = Analyzer(
        load_settings(
            AnalyzeSettings, environ={}, confidence_min=0.0, confidence_max=1.0, candle_window=30,
            min_liquidity_usdt=0, min_trade_count=0, trade_queue_name=f"{strategy}_queue", **common,
        ),
        pool, SignalPublisher(redis_client, strategy), AnalyzeMetrics(new_registry()), tracing["analyze"],
    )  # fmt: skip
    evaluator = Evaluator(
        load_settings(EvaluateServiceSettings, environ={}, **common),
        pool, StreamProducer(redis_client), EvaluateMetrics(new_registry()), tracing["evaluate"],
    )  # fmt: skip

    async with serve_app(simulator_app(market, clock)) as sim_url, serve_app(fake_telegram_app()) as tg_url:
        http = BinanceHttpClient(sim_url, now_ms=clock.now_ms, retries=1)
        cycle = IngestCycle(
            ingest_settings, BinanceSource(http, ExchangeClock()), pool, StreamProducer(redis_client),
            tracing=tracing["ingest"],
        )  # fmt: skip
        publish_settings = load_settings(
            PublishSettings, environ={}, telegram_bot_token=TOKEN, telegram_chat_id="-100777",
            telegram_api_url=tg_url, summary_interval_minutes=0, **common,
        )  # fmt: skip
        sender = TelegramSender.from_settings(publish_settings)
        publisher = Publisher(
            publish_settings, pool, sender, PublishMetrics(new_registry()), tracing["publish"],
            now_ms=clock.now_ms,
        )  # fmt: skip

        async def ingest_once() -> None:
            with tracing["ingest"].start_span("ingest.cycle", attributes={"target": clock.now_ms()}):
                await cycle.run(clock.now_ms())

        await ingest_once()
        await drain(consumer(redis_client, candles, "analyze", CandlesMessage, analyzer.handle))
        published = [SignalMessage.decode(f) for _, f in await redis_client.xrange(signals)]
        (signal,) = [s for s in published if s.symbol == planted.symbol and s.open_time == planted.open_time]
        await drain(consumer(redis_client, signals, "publish", SignalMessage, publisher.on_signal))
        await drain(consumer(redis_client, signals, "evaluate", SignalMessage, evaluator.on_signal))
        assert await publisher.deliver() >= 1
        for _ in range(16):  # the candles after the signal arrive, each minute in its own cycle trace
            clock.advance(MINUTE)
            await ingest_once()
        assert await evaluator.evaluate_pending() == len(published)
        await drain(consumer(redis_client, reports, "publish", ReportsStream, publisher.on_report))
        assert await publisher.deliver() == len(published)
        await sender.close()
        await http.aclose()
    for t in tracing.values():
        t.shutdown()

    spans = exporter.get_finished_spans()
    event = next(
        s for s in spans if s.name == "analyze.event" and attr(s, "soroka.event_id") == signal.event_id
    )
    trace = [s for s in spans if trace_of(s) == trace_of(event)]
    by_name: dict[str, list[ReadableSpan]] = {}
    for s in trace:
        by_name.setdefault(s.name, []).append(s)

    # The whole journey is one trace, across four services' own tracers.
    chain = ["ingest.cycle", "ingest.publish", "analyze.candles", "analyze.event", "publish.queue_signal",
             "publish.post_signal", "evaluate.track", "evaluate.report", "publish.post_report"]  # fmt: skip
    assert set(chain) <= set(by_name), sorted(by_name)
    services = {s.name: s.resource.attributes["service.name"] for s in trace}
    assert services["ingest.publish"] == "soroka-ingest" and services["analyze.event"] == "soroka-analyze"
    assert (
        services["evaluate.report"] == "soroka-evaluate"
        and services["publish.post_report"] == "soroka-publish"
    )
    assert all(attr(s, "soroka.strategy") == strategy for s in trace)

    # Each symbol's message has its own ingest span under the cycle; the analyzer continues that one.
    (cycle_span,) = by_name["ingest.cycle"]
    publish_spans = {attr(s, "soroka.symbol"): s for s in by_name["ingest.publish"]}
    assert all(
        s.parent is not None and s.parent.span_id == cycle_span.context.span_id
        for s in publish_spans.values()
    )
    (candles_span,) = [s for s in by_name["analyze.candles"] if attr(s, "soroka.symbol") == planted.symbol]
    assert candles_span.parent is not None and candles_span.parent.is_remote
    assert candles_span.parent.span_id == publish_spans[planted.symbol].context.span_id
    assert event.parent is not None and event.parent.span_id == candles_span.context.span_id

    # Downstream spans carry the event id (other symbols' signals of the same minute share the trace).
    mine = {n: [s for s in by_name[n] if attr(s, "soroka.event_id") == signal.event_id] for n in chain[3:]}
    assert all(len(found) == 1 for found in mine.values()), mine
    (track,), (report,), (post_report,) = (
        mine["evaluate.track"],
        mine["evaluate.report"],
        mine["publish.post_report"],
    )
    (queued,), (posted,) = mine["publish.queue_signal"], mine["publish.post_signal"]
    assert track.parent is not None and track.parent.span_id == event.context.span_id
    assert queued.parent is not None and queued.parent.span_id == event.context.span_id
    assert posted.parent is not None and posted.parent.span_id == queued.context.span_id
    assert report.parent is not None and report.parent.span_id == track.context.span_id
    assert post_report.parent is not None and post_report.parent.span_id == report.context.span_id

    # Later cycles are traces of their own: one signal's trace does not swallow the next minutes.
    later = {trace_of(s) for s in spans if s.name == "ingest.cycle"} - {trace_of(event)}
    assert len(later) == 16
