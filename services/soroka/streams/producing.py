"""Publishing typed messages on Redis streams, trimmed with approximate MAXLEN."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from soroka.core.messages import Message

# KEYS: claim key, then the streams. ARGV: ttl seconds, maxlen, then the flat field list.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  local fields = {}
  for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
  for k = 2, #KEYS do redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[2], '*', unpack(fields)) end
  return 1
end
return 0
"""


class StreamProducer:
    """Adds messages to streams; each XADD trims the stream to about `maxlen` entries."""

    def __init__(self, client: aioredis.Redis, *, maxlen: int = 100_000) -> None:
        self._client = client
        self._maxlen = maxlen
        self._once = client.register_script(_PUBLISH_ONCE)

    async def publish(self, stream: str, message: Message) -> str:
        fields: dict[Any, Any] = dict(message.encode())
        entry_id = await self._client.xadd(stream, fields, maxlen=self._maxlen, approximate=True)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def publish_many(self, stream: str, messages: Sequence[Message]) -> list[str]:
        """One round trip for a batch (a pipeline, not a transaction)."""
        if not messages:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for m in messages:
                pipe.xadd(stream, dict[Any, Any](m.encode()), maxlen=self._maxlen, approximate=True)
            ids = await pipe.execute()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    async def publish_once(
        self, claim_key: str, streams: Sequence[str], message: Message, *, ttl_s: int = 7 * 86_400
    ) -> bool:
        """Atomically claim `claim_key` and add the message to every stream; False if already claimed.

        A redelivered input that reaches this point again publishes nothing a second time.
        """
        flat: list[str] = []
        for k, v in message.encode().items():
            flat += [k, v]
        done = await self._once(keys=[claim_key, *streams], args=[ttl_s, self._maxlen, *flat])
        return bool(done)
