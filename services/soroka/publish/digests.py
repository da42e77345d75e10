"""Coalescing of queued signals for one chat: one message each while few wait, digests when many do (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from soroka.core.messages import SignalMessage
from soroka.publish.formatting import format_digest, format_signal

# A digest line is ~70 visible characters: 40 lines stay well under Telegram's 4096.
MAX_PER_DIGEST = 40


@dataclass(frozen=True)
class Outgoing:
    """One message to post and the signals it carries (reports reply to its message id)."""

    kind: Literal["signal", "digest"]
    text: str
    signals: tuple[SignalMessage, ...]


def _chunks(signals: Sequence[SignalMessage], size: int) -> list[tuple[SignalMessage, ...]]:
    return [tuple(signals[i : i + size]) for i in range(0, len(signals), size)]


def _single(s: SignalMessage) -> Outgoing:
    return Outgoing("signal", format_signal(s), (s,))


def _digest(group: tuple[SignalMessage, ...]) -> Outgoing:
    return _single(group[0]) if len(group) == 1 else Outgoing("digest", format_digest(group), group)


def plan_messages(
    queued: Sequence[SignalMessage], digest_threshold: int, *, max_per_digest: int = MAX_PER_DIGEST
) -> list[Outgoing]:
    """Messages for the signals waiting for one chat, in candle-time order.

    At most ``digest_threshold`` waiting: one message per signal. More: one digest per candle minute
    (a minute with a single signal keeps its own message); if that still leaves more than
    ``digest_threshold`` messages (a backlog over many minutes), everything goes into digests in time
    order. A digest holds at most ``max_per_digest`` signals.
    """
    if digest_threshold < 1 or max_per_digest < 2:
        raise ValueError("digest_threshold must be >= 1 and max_per_digest >= 2")
    ordered = sorted(queued, key=lambda s: s.open_time)  # stable: queue order within a minute
    if len(ordered) <= digest_threshold:
        return [_single(s) for s in ordered]
    minutes: dict[int, list[SignalMessage]] = {}
    for s in ordered:
        minutes.setdefault(s.open_time, []).append(s)
    per_minute = [_digest(chunk) for group in minutes.values() for chunk in _chunks(group, max_per_digest)]
    if len(per_minute) <= digest_threshold:
        return per_minute
    return [_digest(chunk) for chunk in _chunks(ordered, max_per_digest)]
