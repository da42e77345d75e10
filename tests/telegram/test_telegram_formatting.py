"""Telegram texts: escaped, valid for Telegram's HTML parser, under 4096, split cleanly; digests and summaries."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from soroka.core.messages import HORIZONS_MIN, ReportMessage, SignalMessage
from soroka.core.settings import EventType
from soroka.fake_telegram.entities import parse_html
from soroka.publish.digests import plan_messages
from soroka.publish.formatting import (
    Outcome,
    chart_url,
    confidence_bucket,
    format_digest,
    format_report,
    format_signal,
    format_stale,
    format_summary,
    split_html,
    split_symbol,
    summarize,
    visible_length,
)

MINUTE = 60_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def _signal(
    symbol: str = "BTCUSDT", open_time: int = T0, confidence: float = 0.62, **kw: Any
) -> SignalMessage:
    fields: dict[str, Any] = dict(
        event_id=f"e-{symbol}-{open_time}", strategy="default", symbol=symbol, type=EventType.BOS_UP,
        open_time=open_time, close_time=open_time + MINUTE - 1, close=67123.45, level=66700.0, strength=1.00632,
        volume_ratio=2.41, body_ratio=0.78, confidence=confidence, published_at=open_time + MINUTE + 2000,
        metrics={"quote_volume_24h": 1.234e9, "trade_count_24h": 1_234_567.0, "volatility_24h": 0.045},
    )  # fmt: skip
    fields.update(kw)
    return SignalMessage(**fields)


def test_signal_text_has_every_figure_and_a_chart_link() -> None:
    text = format_signal(_signal())
    plain = parse_html(text)
    assert "BTCUSDT ▲ BOS UP" in plain and "67,123.45" in plain and "66,700.00" in plain
    assert "Strength 1.0063" in plain and "volume ×2.41" in plain and "body 0.78" in plain
    assert (
        "Confidence 0.62" in plain
        and "1.23B USDT" in plain
        and "trades 1.23M" in plain
        and "volatility 4.5%" in plain
    )
    assert "2026-01-01 00:00 UTC" in plain
    assert 'href="https://www.binance.com/en/trade/BTC_USDT?type=spot"' in text


def test_down_signal_and_missing_metrics() -> None:
    plain = parse_html(
        format_signal(_signal(type=EventType.BOS_DOWN, close=0.00012345, level=0.0001250, metrics={}))
    )
    assert (
        "▼ BOS DOWN" in plain
        and "0.00012345" in plain
        and "volume n/a" in plain
        and "volatility n/a" in plain
    )


def test_data_is_html_escaped() -> None:
    nasty = "A<B>&C"
    signal = _signal(symbol=nasty + "USDT", interval="<1m>")
    texts = [format_signal(signal), format_digest([signal, _signal()]), format_stale([nasty], 95, 60)]
    for text in texts:
        assert "A&lt;B&gt;&amp;C" in text
        assert nasty in parse_html(text)  # Telegram would show the original characters
    assert 'href="https://www.binance.com/en/trade/A&lt;B&gt;&amp;C_USDT?type=spot"' in texts[0]


def test_symbols_split_into_base_and_quote() -> None:
    assert split_symbol("BTCUSDT") == ("BTC", "USDT")
    assert split_symbol("ETHBTC") == ("ETH", "BTC")
    assert split_symbol("SOLFDUSD") == ("SOL", "FDUSD")
    assert split_symbol("USDCUSDT") == ("USDC", "USDT")
    assert split_symbol("WEIRD") == ("WEIRD", "")
    assert chart_url("PEPEFDUSD") == "https://www.binance.com/en/trade/PEPE_FDUSD?type=spot"


def test_report_shows_six_horizons_with_na_mfe_mae() -> None:
    report = ReportMessage(
        event_id="e1", strategy="default", symbol="ETHUSDT", type=EventType.BOS_UP, open_time=T0, entry=3012.5,
        confidence=0.55, pnl={"1": 0.12, "2": -0.05, "3": None, "5": 0.3, "10": 0.41, "15": None},
        pnl_net={"1": -0.08, "5": 0.1}, mfe=0.8, mae=-0.31,
    )  # fmt: skip
    plain = parse_html(format_report(report))
    rows = re.findall(r"^\s*(\d+)m\s+(\S+)\s+(\S+)$", plain, flags=re.M)
    assert [int(r[0]) for r in rows] == list(HORIZONS_MIN)
    assert rows[0][1:] == ("+0.12%", "-0.08%") and rows[2][1:] == ("n/a", "n/a") and rows[5][1] == "n/a"
    assert "MFE +0.80% · MAE -0.31%" in plain and "ETHUSDT ▲ BOS UP · result" in plain


def test_summary_aggregates_hit_rate_and_mean_per_horizon_and_bucket() -> None:
    now = T0 + 2 * 86_400_000
    outcomes = [
        Outcome(0.62, now - 3_600_000, {1: 0.2, 5: -0.1, 15: None}),
        Outcome(0.68, now - 7_200_000, {1: -0.4, 5: 0.3, 15: 0.5}),
        Outcome(0.47, now - 3 * 86_400_000, {1: 0.1, 5: 0.1, 15: 0.2}),  # older than a day
    ]
    summary = summarize("default", outcomes, now_ms=now)
    day, total = summary.last_day, summary.since_start
    assert day.signals == 2 and total.signals == 3
    assert day.horizons[1].count == 2 and day.horizons[1].hit_rate == 0.5
    assert day.horizons[1].mean is not None and abs(day.horizons[1].mean - (-0.1)) < 1e-12
    assert day.horizons[15].count == 1 and day.horizons[2].count == 0 and day.horizons[2].mean is None
    assert [b.label for b in summary.since_start_buckets] == ["0.40-0.50", "0.60-0.70"]
    assert confidence_bucket(0.7) == (0.7, 0.8) and confidence_bucket(1.0) == (0.9, 1.0)
    text = format_summary(summary)
    plain = parse_html(text)
    assert (
        "2 in the last 24 h, 3 since start" in plain and "0.60-0.70" in plain and visible_length(text) < 4096
    )
    assert re.search(r"^\s+1m\s+2\s+50\s+-0.10$", plain, flags=re.M)


def test_empty_summary() -> None:
    plain = parse_html(format_summary(summarize("default", [], now_ms=T0)))
    assert "Last 24 h: no evaluated signals" in plain


def test_few_waiting_signals_go_one_by_one() -> None:
    queued = [_signal("AUSDT"), _signal("BUSDT", T0 + MINUTE)]
    planned = plan_messages(queued, digest_threshold=3)
    assert [m.kind for m in planned] == ["signal", "signal"] and planned[0].text == format_signal(queued[0])


def test_many_signals_in_one_minute_become_a_digest() -> None:
    same_minute = [_signal(f"S{i}USDT", confidence=0.5 + i / 100) for i in range(5)]
    planned = plan_messages([*same_minute, _signal("LATEUSDT", T0 + MINUTE)], digest_threshold=3)
    assert [m.kind for m in planned] == ["digest", "signal"]
    assert {s.symbol for s in planned[0].signals} == {s.symbol for s in same_minute}
    plain = parse_html(planned[0].text)
    assert plain.startswith("⚡ 5 signals") and plain.index("S4USDT") < plain.index(
        "S0USDT"
    )  # strongest first


def test_a_backlog_over_many_minutes_is_digested_in_time_order() -> None:
    backlog = [_signal(f"S{i}USDT", T0 + i * MINUTE) for i in range(90)]
    planned = plan_messages(backlog, digest_threshold=3)
    assert [len(m.signals) for m in planned] == [40, 40, 10]
    assert [s.symbol for m in planned for s in m.signals] == [s.symbol for s in backlog]
    assert all(visible_length(m.text) <= 4096 for m in planned)


def test_split_keeps_short_texts_whole_and_cuts_on_lines() -> None:
    assert split_html("<b>short</b>") == ["<b>short</b>"]
    text = "\n".join(f"<b>line {i}</b> &amp; more" for i in range(10))
    parts = split_html(text, limit=60)
    assert all(visible_length(p) <= 60 for p in parts)
    assert all(p.startswith("<b>line") and not p.endswith("\n") for p in parts)
    assert "\n".join(parts) == text


_words = st.text(alphabet="abc xyz<>&\"'\n", min_size=1, max_size=30).map(
    lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
)


@st.composite
def _html(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 6))):
        if depth < 3 and draw(st.booleans()):
            tag = draw(
                st.sampled_from(
                    ["b", "i", "u", "s", "code", "pre", "tg-spoiler", 'a href="https://x.test/?a=1&amp;b"']
                )
            )
            name = tag.split()[0]
            pieces.append(f"<{tag}>{draw(_html(depth + 1))}</{name}>")
        else:
            pieces.append(draw(_words))
    return "".join(pieces)


@settings(max_examples=150, deadline=None)
@given(st.lists(_html(), min_size=1, max_size=25), st.integers(10, 200))
def test_split_parts_are_valid_html_within_the_limit(blocks: list[str], limit: int) -> None:
    text = "\n".join(blocks)
    parts = split_html(text, limit)
    total = parse_html(text)
    for part in parts:
        plain = parse_html(part)  # balanced tags, no cut entity: the fake's Telegram parser accepts it
        assert len(plain) <= limit and plain.strip()
    # Nothing is lost but whitespace at the cuts.
    assert "".join("".join(parse_html(p).split()) for p in parts) == "".join(total.split())
