"""Confidence is bounded and monotonic; each filter passes or fails with a reason that explains itself."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soroka.analyze.detection import Event
from soroka.analyze.filters import FilterChain, failed_names, passed
from soroka.analyze.scoring import ScoredEvent, confidence
from soroka.core.messages import Figures24h
from soroka.core.settings import ConfigError, DetectorSettings, EventType, FilterSettings

P = DetectorSettings()
strengths = st.floats(0.9, 1.2)
ratios = st.one_of(st.floats(0.0, 1e4), st.just(math.inf))
bodies = st.floats(0.0, 1.0)


@settings(max_examples=300)
@given(strengths, strengths, ratios, ratios, bodies, bodies)
def test_confidence_is_in_unit_interval_and_non_decreasing_in_each_input(
    s1: float, s2: float, v1: float, v2: float, b1: float, b2: float
) -> None:
    (s1, s2), (v1, v2), (b1, b2) = sorted((s1, s2)), sorted((v1, v2)), sorted((b1, b2))
    lo, hi = confidence(s1, v1, b1, P).value, confidence(s2, v2, b2, P).value
    assert 0.0 <= lo <= hi <= 1.0
    assert confidence(s1, v1, b1, P).value <= confidence(s2, v1, b1, P).value
    assert confidence(s1, v1, b1, P).value <= confidence(s1, v2, b1, P).value
    assert confidence(s1, v1, b1, P).value <= confidence(s1, v1, b2, P).value


def test_confidence_components_at_the_thresholds_and_far_beyond() -> None:
    at = confidence(P.bos_strength_threshold, P.min_volume_multiplier, P.require_body_ratio, P)
    assert (at.value, at.strength, at.volume, at.body) == (0.0, 0.0, 0.0, 0.0)
    top = confidence(2.0, math.inf, 1.0, P)
    assert top.volume == 1.0 and top.body == 1.0 and top.value == pytest.approx(1.0)


def scored(
    conf: float = 0.6, type_: EventType = EventType.BOS_UP, fig: Figures24h | None = None
) -> ScoredEvent:
    ev = Event("XUSDT", type_, 10, 0, 1.0, 1.0, 1.01, 2.0, 0.8)
    c = confidence(1.0, 0.0, 0.0, P)
    c = type(c)(conf, c.strength, c.volume, c.body, c.strength_excess)
    return ScoredEvent(ev, c, fig, 1, 1)


FIG = Figures24h(quote_volume=20e6, trade_count=400_000, high=1.1, low=1.0, last_price=1.05)


def test_event_passing_every_filter_becomes_a_signal() -> None:
    verdicts = FilterChain.from_settings(FilterSettings()).apply(scored(fig=FIG))
    assert passed(verdicts) and [v.name for v in verdicts] == [
        "event_type", "confidence", "liquidity", "trade_count", "volatility",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "name", "reason"),
    [
        (
            scored(type_=EventType.BOS_DOWN, fig=FIG),
            "event_type",
            "type BOS_DOWN is not EVENT_FILTER_TYPE BOS_UP",
        ),
        (scored(conf=0.449, fig=FIG), "confidence", "confidence 0.449 < CONFIDENCE_MIN 0.45"),
        (scored(conf=0.81, fig=FIG), "confidence", "confidence 0.810 > CONFIDENCE_MAX 0.8"),
        (
            scored(fig=Figures24h(quote_volume=3.2e6, trade_count=400_000, high=1.1, low=1.0, last_price=1)),
            "liquidity",
            "quote volume 3.2M < MIN_LIQUIDITY_USDT 10M",
        ),
        (
            scored(fig=Figures24h(quote_volume=2e7, trade_count=299_999, high=1.1, low=1.0, last_price=1)),
            "trade_count",
            "trade count 299,999 < MIN_TRADE_COUNT 300,000",
        ),
        (
            scored(fig=Figures24h(quote_volume=2e7, trade_count=300_000, high=1.3, low=1.0, last_price=1)),
            "volatility",
            "volatility 0.3000 > MAX_VOLATILITY 0.25",
        ),
    ],
)
def test_each_filter_fails_alone_with_a_reason(event: ScoredEvent, name: str, reason: str) -> None:
    verdicts = FilterChain.from_settings(FilterSettings()).apply(event)
    assert failed_names(verdicts) == [name]
    assert [v.reason for v in verdicts if not v.passed] == [reason]


def test_confidence_bounds_and_thresholds_are_inclusive() -> None:
    chain = FilterChain.from_settings(FilterSettings())
    fig = Figures24h(quote_volume=10e6, trade_count=300_000, high=1.25, low=1.0, last_price=1)
    assert passed(chain.apply(scored(conf=0.45, fig=fig))) and passed(chain.apply(scored(conf=0.80, fig=fig)))


def test_missing_24h_figures_fail_the_filters_that_need_them() -> None:
    chain = FilterChain.from_settings(FilterSettings(event_filter_type="ANY"))
    verdicts = chain.apply(scored(type_=EventType.BOS_DOWN))
    assert failed_names(verdicts) == ["liquidity", "trade_count", "volatility"]
    assert all("24h figures unavailable" in v.reason for v in verdicts if not v.passed)
    assert chain.needs == {"event", "confidence", "figures24h"}


def test_unknown_filter_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="unknown filter 'spread'"):
        FilterChain.from_settings(FilterSettings(), ["confidence", "spread"])
