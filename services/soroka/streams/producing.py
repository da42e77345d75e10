"""Publishing typed messages on Redis streams, trimmed with approximate MAXLEN."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from soroka.core.messages import Message


class StreamProducer:
    """Adds messages to streams; each XADD trims the stream to about `maxlen` entries."""

    def __init__(self, client: aioredis.Redis, *, maxlen: int = 100_000) -> None:
        self._client = client
        self._maxlen = maxlen

    async def publish(self, stream: str, message: Message) -> str:
        entry_id = await self._client.xadd(
            stream, message.encode(), maxlen=self._maxlen, approximate=True  # type: ignore[arg-type]
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)

    async def publish_many(self, stream: str, messages: Sequence[Message]) -> list[str]:
        """One round trip for a batch (a pipeline, not a transaction)."""
        if not messages:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for m in messages:
                pipe.xadd(stream, m.encode(), maxlen=self._maxlen, approximate=True)  # type: ignore[arg-type]
            ids = await pipe.execute()
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
