"""Telegram texts (HTML parse mode) for signals, reports, digests and summaries, and their clean splitting (pure).

Every value that comes from data is escaped (``&``, ``<``, ``>``; ``"`` inside attributes); only the
named entities Telegram knows are produced. Texts stay under 4096 visible characters where possible;
`split_html` cuts longer ones on line boundaries with the open tags closed and reopened per part.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from soroka.core.messages import HORIZONS_MIN, ReportMessage, SignalMessage
from soroka.core.settings import EventType

TELEGRAM_MAX_TEXT = 4096
# Quote assets, longest first so FDUSD wins over USD-like suffixes.
QUOTE_ASSETS = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "DAI", "EUR", "TRY", "BRL", "JPY", "BTC", "ETH",
                "BNB", "XRP", "SOL")  # fmt: skip
_TYPE_LABEL = {EventType.BOS_UP: ("🟢", "▲", "BOS UP"), EventType.BOS_DOWN: ("🔴", "▼", "BOS DOWN")}


# --- escaping and numbers ----------------------------------------------------------------------------
def esc(text: object) -> str:
    """Text for HTML mode: ``&``, ``<`` and ``>`` as entities."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(text: object) -> str:
    """An attribute value for HTML mode (double-quoted)."""
    return esc(text).replace('"', "&quot;")


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base, quote) of a Binance spot symbol; quote '' when no known quote asset ends it."""
    for quote in sorted(QUOTE_ASSETS, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def chart_url(symbol: str) -> str:
    base, quote = split_symbol(symbol)
    pair = f"{base}_{quote}" if quote else base
    return f"https://www.binance.com/en/trade/{pair}?type=spot"


def fmt_price(x: float) -> str:
    """A price with about 6 significant digits, thousands separated (67,123.45 / 0.00012345)."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    decimals = max(2, min(10, 5 - math.floor(math.log10(abs(x)))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0")
        head, _, tail = text.partition(".")
        text = f"{head}.{tail.ljust(2, '0')}"
    return text


def fmt_pct(x: float | None, digits: int = 2, *, signed: bool = True) -> str:
    """A percentage ('+0.12%', or '4.5%' unsigned), or 'n/a' when unavailable."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}f}%" if signed else f"{x:.{digits}f}%"


def fmt_compact(x: float | None) -> str:
    """1234567 -> '1.23M'; 'n/a' when unavailable."""
    if x is None or not math.isfinite(x):
        return "n/a"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= size:
            return f"{x / size:.2f}{suffix}"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}"


def fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _label(kind: EventType) -> tuple[str, str, str]:
    return _TYPE_LABEL.get(kind, ("⚪", "•", str(kind)))


# --- signals, reports, digests --------------------------------------------------------------------------
def format_signal(s: SignalMessage) -> str:
    """One signal: what broke, how strongly, the 24h context, when, and a chart link."""
    dot, arrow, name = _label(s.type)
    _, quote = split_symbol(s.symbol)
    m = s.metrics
    beyond = 100.0 * (s.close - s.level) / s.level if s.level else None
    lines = [
        f"{dot} <b>{esc(s.symbol)}</b> {arrow} {name} · {esc(s.interval)}",
        f"Close <b>{fmt_price(s.close)}</b> · broke level {fmt_price(s.level)} ({fmt_pct(beyond)})",
        f"Strength {s.strength:.4f} · volume ×{s.volume_ratio:.2f} · body {s.body_ratio:.2f}",
        f"Confidence <b>{s.confidence:.2f}</b>",
        f"24h: volume {fmt_compact(m.get('quote_volume_24h'))} {esc(quote)} · trades "
        f"{fmt_compact(m.get('trade_count_24h'))} · volatility {fmt_pct(_pct(m.get('volatility_24h')), 1, signed=False)}",
        f"Candle {fmt_time(s.open_time)}",
        f'<a href="{esc_attr(chart_url(s.symbol))}">Chart on Binance</a>',
    ]
    return "\n".join(lines)


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def _pnl(values: Mapping[str, float | None], h: int) -> float | None:
    return values.get(str(h))


def format_report(r: ReportMessage) -> str:
    """Post-signal performance: PnL per horizon (n/a when unavailable), MFE/MAE, net of fees."""
    dot, arrow, name = _label(r.type)
    state = "result" if r.final else "partial result"
    rows = [f"{'h':>4} {'PnL':>8} {'net':>8}"]
    rows += [f"{h:>3}m {fmt_pct(_pnl(r.pnl, h)):>8} {fmt_pct(_pnl(r.pnl_net, h)):>8}" for h in HORIZONS_MIN]
    lines = [
        f"{dot} <b>{esc(r.symbol)}</b> {arrow} {name} · {state}",
        f"Entry {fmt_price(r.entry)} · confidence {r.confidence:.2f} · {fmt_time(r.open_time)}",
        "<pre>" + esc("\n".join(rows)) + "</pre>",
        f"MFE {fmt_pct(r.mfe)} · MAE {fmt_pct(r.mae)}",
    ]
    return "\n".join(lines)


def format_digest(signals: Sequence[SignalMessage]) -> str:
    """Several signals in one message (many symbols fired in the same minute), strongest first."""
    ordered = sorted(signals, key=lambda s: (-s.confidence, s.symbol))
    minutes = sorted({s.open_time for s in signals})
    when = fmt_time(minutes[0]) if len(minutes) == 1 else f"{fmt_time(minutes[0])} – {fmt_time(minutes[-1])}"
    lines = [f"⚡ <b>{len(signals)} signals</b> · {when}"]
    for s in ordered:
        dot, arrow, _ = _label(s.type)
        lines.append(
            f'{dot} <a href="{esc_attr(chart_url(s.symbol))}">{esc(s.symbol)}</a> {arrow} {fmt_price(s.close)}'
            f" · conf {s.confidence:.2f} · vol ×{s.volume_ratio:.1f} · body {s.body_ratio:.2f}"
        )
    return "\n".join(lines)


def format_stale(symbols: Sequence[str], oldest_age_seconds: float, max_age_seconds: int) -> str:
    """One line for signals dropped because they were older than MAX_SIGNAL_AGE when they reached us."""
    shown = ", ".join(esc(s) for s in symbols[:10]) + (
        f" and {len(symbols) - 10} more" if len(symbols) > 10 else ""
    )
    return (
        f"⏳ Skipped {len(symbols)} stale signal{'s' if len(symbols) != 1 else ''} "
        f"(older than {max_age_seconds} s; oldest {oldest_age_seconds:.0f} s): {shown}"
    )


# --- periodic summary ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One evaluated signal: its confidence, candle time and PnL % by horizon (None = unavailable)."""

    confidence: float
    open_time: int
    pnl: Mapping[int, float | None]


@dataclass(frozen=True)
class HorizonStats:
    count: int  # signals with this horizon available
    hits: int  # of which PnL > 0
    mean: float | None

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.count if self.count else None


@dataclass(frozen=True)
class Aggregate:
    label: str
    signals: int
    horizons: dict[int, HorizonStats]


@dataclass(frozen=True)
class Summary:
    strategy: str
    at_ms: int
    last_day: Aggregate
    since_start: Aggregate
    last_day_buckets: tuple[Aggregate, ...]
    since_start_buckets: tuple[Aggregate, ...]


def aggregate(label: str, outcomes: Iterable[Outcome]) -> Aggregate:
    rows = list(outcomes)
    horizons: dict[int, HorizonStats] = {}
    for h in HORIZONS_MIN:
        values = [v for o in rows if (v := o.pnl.get(h)) is not None and math.isfinite(v)]
        hits = sum(1 for v in values if v > 0)
        horizons[h] = HorizonStats(len(values), hits, sum(values) / len(values) if values else None)
    return Aggregate(label, len(rows), horizons)


def confidence_bucket(confidence: float, width: float = 0.1) -> tuple[float, float]:
    low = min(math.floor(confidence / width + 1e-9) * width, 1.0 - width)
    return round(low, 6), round(low + width, 6)


def by_confidence(outcomes: Iterable[Outcome], width: float = 0.1) -> tuple[Aggregate, ...]:
    groups: dict[tuple[float, float], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(confidence_bucket(o.confidence, width), []).append(o)
    return tuple(aggregate(f"{lo:.2f}-{hi:.2f}", groups[(lo, hi)]) for lo, hi in sorted(groups))


def summarize(strategy: str, outcomes: Sequence[Outcome], now_ms: int, width: float = 0.1) -> Summary:
    """Hit rate and mean PnL per horizon, overall and per confidence bucket, for the last 24 h and since start."""
    day = [o for o in outcomes if now_ms - 86_400_000 <= o.open_time <= now_ms]
    return Summary(strategy, now_ms, aggregate("last 24 h", day), aggregate("since start", outcomes),
                   by_confidence(day, width), by_confidence(outcomes, width))  # fmt: skip


def _table(aggregates: Sequence[Aggregate], with_label: bool) -> str:
    head = f"{'conf':<9} " if with_label else ""
    rows = [f"{head}{'h':>3} {'n':>5} {'hit%':>5} {'mean%':>7}"]
    for agg in aggregates:
        for h, st in agg.horizons.items():
            rate = f"{100 * st.hit_rate:.0f}" if st.hit_rate is not None else "n/a"
            mean = f"{st.mean:+.2f}" if st.mean is not None else "n/a"
            label = f"{agg.label:<9} " if with_label else ""
            rows.append(f"{label}{h:>2}m {st.count:>5} {rate:>5} {mean:>7}")
    return "<pre>" + esc("\n".join(rows)) + "</pre>"


def format_summary(summary: Summary) -> str:
    lines = [
        f"📊 <b>Summary</b> · {esc(summary.strategy)} · {fmt_time(summary.at_ms)}",
        f"Signals: {summary.last_day.signals} in the last 24 h, {summary.since_start.signals} since start",
    ]
    for agg, buckets in ((summary.last_day, summary.last_day_buckets),
                         (summary.since_start, summary.since_start_buckets)):  # fmt: skip
        if agg.signals == 0:
            lines.append(f"<b>{esc(agg.label.capitalize())}</b>: no evaluated signals")
            continue
        lines.append(f"<b>{esc(agg.label.capitalize())}</b>")
        lines.append(_table([agg], with_label=False))
        if len(buckets) > 1:
            lines.append(f"<i>{esc(agg.label.capitalize())} by confidence</i>")
            lines.append(_table(buckets, with_label=True))
    return "\n".join(lines)


# --- splitting ------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|\n| +|[^<&\n ]{1,64}|[<&]")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)")


@dataclass(frozen=True, slots=True)
class _Tok:
    raw: str
    visible: int
    tag: str | None = None  # tag name for tags
    closing: bool = False


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        tag = _TAG.match(raw) if raw.startswith("<") and raw.endswith(">") else None
        if tag is not None:
            out.append(_Tok(raw, 0, tag.group(2).lower(), bool(tag.group(1))))
        elif raw.startswith("&") and len(raw) > 1:
            out.append(_Tok(raw, 1))
        else:
            out.append(_Tok(raw, len(raw)))
    return out


def visible_length(text: str) -> int:
    """Characters Telegram counts after parsing HTML (tags free, an entity one)."""
    return sum(t.visible for t in _tokens(text))


def _walk(stack: list[_Tok], tokens: Iterable[_Tok]) -> None:
    for t in tokens:
        if t.tag is None:
            continue
        if t.closing:
            if stack and stack[-1].tag == t.tag:
                stack.pop()
        else:
            stack.append(t)


def _cut(tokens: Sequence[_Tok], start: int, budget: int) -> int:
    """End index of the longest run from ``start`` within ``budget``: after a newline, else a space, else a token."""
    used, last_nl, last_sp, end = 0, -1, -1, start
    for i in range(start, len(tokens)):
        used += tokens[i].visible
        if used > budget:
            break
        end = i + 1
        if tokens[i].raw == "\n":
            last_nl = i + 1
        elif tokens[i].raw.startswith(" "):
            last_sp = i + 1
    else:
        return len(tokens)
    for candidate in (last_nl, last_sp, end):
        if candidate > start:
            return candidate
    return start + 1  # unreachable: split_html cuts every token to fit the budget


def split_html(text: str, limit: int = TELEGRAM_MAX_TEXT) -> list[str]:
    """Parts of at most ``limit`` visible characters, cut on line boundaries where possible, never inside
    a tag or entity; tags open at a cut are closed at the end of the part and reopened in the next."""
    if visible_length(text) <= limit:
        return [text]
    tokens = [
        _Tok(t.raw[k : k + limit], len(t.raw[k : k + limit])) if t.visible > limit else t
        for t in _tokens(text)
        for k in (range(0, len(t.raw), limit) if t.visible > limit else (0,))
    ]  # plain-text tokens longer than the limit (a tiny limit) are cut into pieces that fit
    parts: list[str] = []
    stack: list[_Tok] = []
    i = 0
    while i < len(tokens):
        while 0 < i < len(tokens) and tokens[i].raw == "\n":
            i += 1  # a cut line's newline is not carried into the next part
        if i >= len(tokens):
            break
        end = _cut(tokens, i, limit)
        opened = [t.raw for t in stack]
        body = list(tokens[i:end])
        _walk(stack, body)
        while body and body[-1].tag is None and body[-1].raw.strip() == "":
            body.pop()  # trailing newlines and spaces of a part
        closing = [f"</{t.tag}>" for t in reversed(stack)]
        part = "".join(opened) + "".join(t.raw for t in body) + "".join(closing)
        if any(t.tag is None and t.raw.strip() for t in body):  # Telegram refuses blank texts
            parts.append(part)
        i = end
    return parts
