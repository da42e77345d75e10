"""Publishing a signal exactly once (signals stream + trade queue) and the cross-replica spacing guard."""

from __future__ import annotations

import redis.asyncio as aioredis

from soroka.core.messages import SignalMessage
from soroka.streams.producing import StreamProducer

# KEYS: spacing key. ARGV: open time, minimum gap ms, ttl seconds. Returns 1 when the event may be emitted.
_SPACING = """
local last = redis.call('GET', KEYS[1])
local t = tonumber(ARGV[1])
if last then
  last = tonumber(last)
  if t ~= last and t > last and t - last < tonumber(ARGV[2]) then return 0 end
  if t < last then return 1 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
"""


class SignalPublisher:
    def __init__(
        self, client: aioredis.Redis, strategy: str, *, maxlen: int = 100_000, ttl_s: int = 7 * 86_400
    ) -> None:
        self.client = client
        self.strategy = strategy
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self._producer = StreamProducer(client, maxlen=maxlen)
        self._spacing = client.register_script(_SPACING)

    async def publish_once(self, signal: SignalMessage, signals_stream: str, trade_queue: str) -> bool:
        """Add the signal to the signals stream and the trade queue unless this event id was published."""
        claim = f"soroka:{self.strategy}:published:{signal.event_id}"
        return await self._producer.publish_once(
            claim, [signals_stream, trade_queue], signal, ttl_s=self.ttl_s
        )

    async def spacing_allows(self, symbol: str, event_type: str, open_time: int, min_gap_ms: int) -> bool:
        """Cross-replica spacing guard: no two emitted events of a symbol and type closer than the gap."""
        key = f"soroka:{self.strategy}:spacing:{symbol}:{event_type}"
        return bool(await self._spacing(keys=[key], args=[open_time, min_gap_ms, self.ttl_s]))
