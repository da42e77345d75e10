"""One ingest per strategy: a leader lease in Redis; a second ingest waits as a standby and takes over."""

from __future__ import annotations

import redis.asyncio as aioredis

# KEYS: lease key. ARGV: holder id, ttl ms. 1 when the caller holds the lease after the call.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
if not holder and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaderLease:
    """`hold()` takes or renews the lease; a holder that stops renewing loses it after `ttl_ms`."""

    def __init__(self, client: aioredis.Redis, strategy: str, holder: str, *, ttl_ms: int = 30_000) -> None:
        self.key = f"soroka:{strategy}:ingest:leader"
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)
        self.leading = False

    async def hold(self) -> bool:
        self.leading = bool(await self._hold(keys=[self.key], args=[self.holder, self.ttl_ms]))
        return self.leading

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])
        self.leading = False
