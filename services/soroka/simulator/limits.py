"""Binance's per-IP request-weight limit: 429 with Retry-After over the limit, 418 bans for those who insist.

Windows follow the *simulator clock's* minute (Binance uses real minutes): with an accelerated clock the
whole exchange, rate limits included, runs faster, so a client budgeting weight per simulated minute
(pass it the simulator clock) behaves exactly as it would against Binance in real time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int  # 200, 429 or 418
    used: int  # weight used in the current window after this request
    retry_after: int  # seconds, when refused


@dataclass
class _Ip:
    window: int = -1
    used: int = 0
    refused: int = 0
    banned_until: int = 0
    bans: int = 0


class WeightLimiter:
    def __init__(self, limit: int = 6000, ban_after: int = 3, ban_ms: int = 120_000) -> None:
        self.limit = limit
        self.ban_after = ban_after
        self.ban_ms = ban_ms
        self._ips: dict[str, _Ip] = {}

    def used(self, ip: str, now_ms: int) -> int:
        st = self._ips.get(ip)
        return st.used if st is not None and st.window == now_ms // MINUTE_MS else 0

    def admit(self, ip: str, weight: int, now_ms: int) -> Verdict:
        st = self._ips.setdefault(ip, _Ip())
        window = now_ms // MINUTE_MS
        if st.window != window:
            st.window, st.used, st.refused = window, 0, 0
        if now_ms < st.banned_until:
            return Verdict(418, st.used, math.ceil((st.banned_until - now_ms) / 1000))
        if st.used + weight > self.limit:
            st.refused += 1
            if st.refused > self.ban_after:  # kept sending after being told to stop: ban, escalating
                st.bans += 1
                st.banned_until = now_ms + self.ban_ms * 2 ** (st.bans - 1)
                return Verdict(418, st.used, math.ceil((st.banned_until - now_ms) / 1000))
            return Verdict(429, st.used, max(1, math.ceil(((window + 1) * MINUTE_MS - now_ms) / 1000)))
        st.used += weight
        return Verdict(200, st.used, 0)
