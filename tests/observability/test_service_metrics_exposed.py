"""Each service process, after real work, exposes on /metrics every metric docs/operations.md lists for it.

The services run their real `serve()` (settings, Redis, Postgres, health app on HTTP_PORT) in-process;
the scrape is parsed with prometheus_client's parser, and names plus label sets are compared with the
documented table, which in turn must match what the services register (scripts/metrics_table.py).
"""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from metric_catalog import OPERATIONS_MD, catalog, documented_metrics, documented_table, render_table
from pipeline_rig import (
    MINUTE,
    Scrape,
    candles_message,
    free_port,
    minute_now,
    planted_series,
    running,
    seed_stream,
    wait_for,
)

from soroka.analyze import main as analyze_main
from soroka.core.candles import Candle
from soroka.core.configuring import load_settings
from soroka.core.messages import ReportMessage, SignalMessage, stream_key
from soroka.core.settings import (
    AnalyzeSettings,
    EvaluateServiceSettings,
    EventType,
    IngestSettings,
    PublishSettings,
    TraderSettings,
)
from soroka.evaluate import main as evaluate_main
from soroka.fake_telegram.app import create_app as fake_telegram_app
from soroka.ingest import main as ingest_main
from soroka.publish import main as publish_main
from soroka.simulator.app import create_app as simulator_app
from soroka.simulator.clock import ScaledClock
from soroka.simulator.market import SyntheticMarket
from soroka.simulator.serving import serve_app
from soroka.storage import market
from soroka.storage.events import store_event
from soroka.trader import main as trader_main

TOKEN = "123456:SECRET-token_value"


def connection(strategy: str, redis_url: str, database_url: str, port: int) -> dict[str, object]:
    return {
        "strategy_name": strategy,
        "redis_url": redis_url,
        "database_url": database_url,
        "http_host": "127.0.0.1",
        "http_port": port,
        "consumer_name": "pod-a",
        "claim_idle_ms": 1000,
    }


def assert_documented(service: str, scrape: Scrape, *, without: tuple[str, ...] = ()) -> None:
    """Every metric documented for `service` has samples with exactly the documented label names."""
    for name, (type_, labels, services) in documented_metrics(OPERATIONS_MD.read_text()).items():
        if service not in services or name.startswith(without):
            continue
        probe = name + ("_count" if type_ == "histogram" else "")
        seen = scrape.samples.get(probe)
        assert seen, f"{service}: {probe} has no samples after real work"
        for sample_labels, _ in seen:
            if type_ == "info":
                assert set(labels) <= set(sample_labels), (probe, sample_labels)
            else:
                assert set(sample_labels) == set(labels), (probe, sample_labels)
        if type_ == "histogram":
            assert all("le" in lb for lb, _ in scrape.samples[name + "_bucket"]), probe
    exported = {n for n in scrape.samples if n.startswith("soroka_")}
    documented = {n for d in catalog() if service in d.services for n in d.sample_names()}
    assert exported <= documented, f"{service} exports undocumented metrics: {sorted(exported - documented)}"
    assert "process_cpu_seconds_total" in scrape.samples


def consumed(scrape: Scrape, service: str, stream: str) -> bool:
    """The seeded dead consumer's entry was reclaimed and dead-lettered, and the backlog gauges are set."""
    labels = {"service": service, "stream": stream}
    return (
        (scrape.value("soroka_stream_messages_dead_lettered_total", reason="decode", **labels) or 0) >= 1
        and (scrape.value("soroka_stream_reclaimed_total", **labels) or 0) >= 1
        and scrape.value("soroka_stream_pending_messages", **labels) is not None
        and scrape.value("soroka_stream_lag_messages", **labels) is not None
    )


def signal(strategy: str, open_time: int, symbol: str = "AUSDT") -> SignalMessage:
    return SignalMessage(
        event_id=f"{strategy}:{symbol}:1m:BOS_UP:{open_time}",
        strategy=strategy, symbol=symbol, type=EventType.BOS_UP, open_time=open_time,
        close_time=open_time + MINUTE - 1, close=100.0, level=99.0, strength=1.01, volume_ratio=2.0,
        body_ratio=0.8, confidence=0.6, published_at=open_time + MINUTE,
        metrics={"quote_volume_24h": 2e7, "trade_count_24h": 4e5, "volatility_24h": 0.1},
    )  # fmt: skip


async def stored_event(pool: asyncpg.Pool, sig: SignalMessage) -> None:
    async with pool.acquire() as conn:
        await store_event(
            conn, event_id=sig.event_id, strategy=sig.strategy, symbol=sig.symbol, type=sig.type.value,
            interval="1m", open_time=sig.open_time, close=sig.close, level=sig.level, strength=sig.strength,
            volume_ratio=sig.volume_ratio, body_ratio=sig.body_ratio, confidence=sig.confidence, metrics={},
            verdicts=[], passed=True,
        )  # fmt: skip


def test_the_documented_table_is_the_one_the_registries_generate() -> None:
    assert documented_table(OPERATIONS_MD.read_text()) == render_table(catalog()), (
        "docs/operations.md is out of date: run scripts/metrics_table.py"
    )


async def test_ingest_exposes_candles_cycle_time_and_the_binance_budget(
    database_url: str, redis_url: str, strategy: str, pool: asyncpg.Pool
) -> None:
    clock = ScaledClock()
    port = free_port()
    sim = simulator_app(SyntheticMarket(30, seed=3, start_ms=clock.now_ms()), clock)
    async with serve_app(sim) as url:
        settings = load_settings(
            IngestSettings, environ={}, universe_size=20, candle_window=30, binance_base_url=url,
            **connection(strategy, redis_url, database_url, port),
        )  # fmt: skip
        async with running(lambda stop: ingest_main.serve(settings, None, stop), port) as scrape:
            got = await wait_for(
                scrape, lambda m: (m.value("soroka_ingest_cycles_total", outcome="ok") or 0) >= 1
            )
    assert (got.value("soroka_ingest_candles_stored_total") or 0) >= 20 * 30
    assert got.value("soroka_ingest_cycle_duration_seconds_count") == 1
    assert (got.value("soroka_binance_weight_used") or 0) > 0
    assert (got.value("soroka_binance_requests_total") or 0) > 20
    assert {lb["kind"] for lb, _ in got.samples["soroka_binance_errors_total"]} >= {"http_429", "timeout"}
    assert got.value("soroka_config_info", service="ingest", lookback="3") == 1
    assert_documented("ingest", got, without=("soroka_stream_",))  # the ingest consumes no stream


async def test_analyze_exposes_events_signals_filters_latency_and_its_consumer_group(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str, pool: asyncpg.Pool
) -> None:
    port = free_port()
    candles = planted_series(minute_now() - 80 * MINUTE, 80, breakout=79)
    msgs = [candles_message(strategy, "PLANTUSDT", candles, last, 60) for last in range(60, 80)]
    await seed_stream(redis_client, stream_key(strategy, "candles"), analyze_main.GROUP, list(msgs))
    settings = load_settings(
        AnalyzeSettings, environ={}, confidence_min=0.0, confidence_max=1.0, candle_window=60,
        trade_queue_name=f"{strategy}_queue", **connection(strategy, redis_url, database_url, port),
    )  # fmt: skip
    async with running(lambda stop: analyze_main.serve(settings, None, stop), port) as scrape:
        got = await wait_for(
            scrape,
            lambda m: (
                (m.value("soroka_analyze_signals_total", type="BOS_UP") or 0) >= 1
                and consumed(m, "analyze", "candles")
            ),
        )
    assert got.value("soroka_stream_messages_processed_total", service="analyze", stream="candles") == 20
    assert got.value("soroka_analyze_events_total", type="BOS_UP") == 1
    assert got.value("soroka_analyze_filter_outcomes_total", filter="confidence", outcome="passed") == 1
    assert got.value("soroka_analyze_signal_latency_seconds_count") == 1
    assert (
        got.value("soroka_analyze_signal_latency_seconds_bucket", le="300.0") == 1
    )  # close was a minute ago
    assert_documented("analyze", got)


async def test_evaluate_exposes_pnl_per_horizon_lag_and_unavailable_horizons(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str, pool: asyncpg.Pool
) -> None:
    port = free_port()
    t0 = minute_now() - 20 * MINUTE
    sig = signal(strategy, t0)
    await stored_event(pool, sig)
    closes = [(m, 100.0 + m) for m in range(1, 17) if m != 5]  # the 5-minute candle never came
    await market.store_candles(
        pool, "1m", [("AUSDT", Candle(t0 + m * MINUTE, c, c, c, c, 10, 10 * c, 5)) for m, c in closes]
    )
    await seed_stream(redis_client, stream_key(strategy, "signals"), evaluate_main.GROUP, [sig])
    settings = load_settings(
        EvaluateServiceSettings, environ={}, **connection(strategy, redis_url, database_url, port)
    )
    async with running(lambda stop: evaluate_main.serve(settings, None, stop, poll=0.1), port) as scrape:
        got = await wait_for(
            scrape,
            lambda m: (
                (m.value("soroka_evaluate_reports_total", final="true") or 0) >= 1
                and consumed(m, "evaluate", "signals")
            ),
        )
    assert got.value("soroka_evaluate_signals_tracked_total") == 1
    assert got.value("soroka_evaluate_unavailable_horizons_total", horizon="5") == 1
    assert got.value("soroka_evaluate_pnl_percent_count", horizon="1") == 1
    assert got.value("soroka_evaluate_pnl_percent_bucket", horizon="1", le="1.0") == 1  # +1 %
    assert got.value("soroka_evaluate_pnl_percent_bucket", horizon="1", le="0.5") == 0
    assert got.value("soroka_evaluate_lag_seconds_count") == 1
    assert_documented("evaluate", got)


async def test_publish_exposes_deliveries_by_outcome_retry_after_and_queue_depth(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str, pool: asyncpg.Pool
) -> None:
    port = free_port()
    sig = signal(strategy, minute_now() - MINUTE)  # closed a moment ago: fresh enough to post
    report = ReportMessage(
        event_id=sig.event_id, strategy=strategy, symbol=sig.symbol, type=sig.type, open_time=sig.open_time,
        entry=sig.close, confidence=sig.confidence, pnl={"1": 0.1}, pnl_net={}, final=False,
    )  # fmt: skip
    await seed_stream(redis_client, stream_key(strategy, "signals"), publish_main.GROUP, [sig])
    await seed_stream(redis_client, stream_key(strategy, "reports"), publish_main.GROUP, [report])
    async with serve_app(fake_telegram_app()) as telegram_url:
        settings = load_settings(
            PublishSettings, environ={}, telegram_bot_token=TOKEN, telegram_chat_id="-100777",
            telegram_api_url=telegram_url, summary_interval_minutes=0,
            **connection(strategy, redis_url, database_url, port),
        )  # fmt: skip
        async with running(lambda stop: publish_main.serve(settings, None, stop, poll=0.1), port) as scrape:
            got = await wait_for(
                scrape,
                lambda m: (
                    (m.value("soroka_publish_deliveries_total", kind="report", outcome="sent") or 0) >= 1
                    and consumed(m, "publish", "signals")
                    and consumed(m, "publish", "reports")
                ),
            )
    assert got.value("soroka_publish_deliveries_total", kind="signal", outcome="sent") == 1
    assert got.value("soroka_publish_queue_depth") == 0
    assert got.value("soroka_publish_retry_after_waits_total") == 0
    assert got.value("soroka_publish_signal_latency_seconds_count") == 1
    assert_documented("publish", got)


async def test_trader_exposes_paper_equity_decisions_and_closed_trades(
    database_url: str, redis_url: str, redis_client: aioredis.Redis, strategy: str, pool: asyncpg.Pool
) -> None:
    port = free_port()
    t0 = minute_now() - MINUTE
    sig = signal(strategy, t0)
    settings = load_settings(
        TraderSettings, environ={}, trade_queue_name=f"{strategy}_queue",
        **connection(strategy, redis_url, database_url, port),
    )  # fmt: skip
    group = f"paper-trader-{strategy}"
    await seed_stream(redis_client, settings.trade_queue_name, group, [sig])
    await market.store_candles(pool, "1m", [("AUSDT", Candle(t0 + MINUTE, 100, 101, 91.0, 92, 1, 1, 1))])
    async with running(lambda stop: trader_main.serve(settings, None, stop, poll=0.1), port) as scrape:
        got = await wait_for(
            scrape,
            lambda m: (
                (m.value("soroka_trader_trades_closed_total", reason="stoploss") or 0) >= 1
                and consumed(m, "trader", "trade_queue")
            ),
        )
    assert got.value("soroka_trader_signals_total", decision="opened") == 1
    assert got.value("soroka_stream_pending_messages", service="trader", group=group) is not None
    equity = got.value("soroka_trader_equity_usdt")
    assert equity is not None and equity < settings.paper_balance  # the stop-loss lost money
    assert got.value("soroka_trader_open_positions") == 0
    assert_documented("trader", got)
