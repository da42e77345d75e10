"""Publishing a signal exactly once: one Redis script claims the event id and adds both stream entries."""

from __future__ import annotations

import redis.asyncio as aioredis

from soroka.core.messages import SignalMessage

# KEYS: claim key, signals stream, trade queue. ARGV: ttl seconds, maxlen, then the flat field list.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  local fields = {}
  for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
  return 1
end
return 0
"""

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
    def __init__(self, client: aioredis.Redis, strategy: str, *, maxlen: int = 100_000, ttl_s: int = 7 * 86_400) -> None:
        self.client = client
        self.strategy = strategy
        self.maxlen = maxlen
        self.ttl_s = ttl_s
        self._publish = client.register_script(_PUBLISH_ONCE)
        self._spacing = client.register_script(_SPACING)

    async def publish_once(self, signal: SignalMessage, signals_stream: str, trade_queue: str) -> bool:
        """Add the signal to the signals stream and the trade queue unless this event id was published."""
        flat: list[str] = []
        for k, v in signal.encode().items():
            flat += [k, v]
        claim = f"soroka:{self.strategy}:published:{signal.event_id}"
        keys = [claim, signals_stream, trade_queue]
        done = await self._publish(keys=keys, args=[self.ttl_s, self.maxlen, *flat])
        return bool(done)

    async def spacing_allows(self, symbol: str, event_type: str, open_time: int, min_gap_ms: int) -> bool:
        """Cross-replica spacing guard: no two emitted events of a symbol and type closer than the gap."""
        key = f"soroka:{self.strategy}:spacing:{symbol}:{event_type}"
        return bool(await self._spacing(keys=[key], args=[open_time, min_gap_ms, self.ttl_s]))
