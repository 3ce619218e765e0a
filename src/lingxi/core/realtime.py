"""Realtime fan-out to connected WebSockets: in-process by default, Redis pub/sub when configured.

Delivery is a notification, not the record: messages are stored first and clients resume from the
last message id they saw, so a dropped notification costs a resume, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import orjson

log = logging.getLogger("lingxi.realtime")


class Broker(Protocol):
    async def publish(self, channel: str, data: dict[str, Any]) -> None: ...

    async def publish_batch(self, items: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> None: ...

    def subscribe(self, *channels: str) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[bytes]]: ...

    async def close(self) -> None: ...


class _LocalFanout:
    """Channel -> queues of local subscribers; both brokers deliver through it."""

    QUEUE_SIZE = 1000

    def __init__(self) -> None:
        self.subscribers: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)

    def deliver(self, channel: str, raw: bytes) -> None:
        for queue in list(self.subscribers.get(channel, ())):
            try:
                queue.put_nowait(raw)
            except asyncio.QueueFull:  # a stuck client; it will resume from its last id
                log.warning("subscriber queue full on %s; dropping notification", channel)

    def add(self, channels: tuple[str, ...]) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(self.QUEUE_SIZE)
        for channel in channels:
            self.subscribers[channel].add(queue)
        return queue

    def remove(self, channels: tuple[str, ...], queue: asyncio.Queue[bytes]) -> list[str]:
        emptied = []
        for channel in channels:
            subs = self.subscribers.get(channel)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self.subscribers[channel]
                    emptied.append(channel)
        return emptied


class InMemoryBroker:
    def __init__(self) -> None:
        self._fanout = _LocalFanout()

    async def publish(self, channel: str, data: dict[str, Any]) -> None:
        self._fanout.deliver(channel, orjson.dumps(data))

    async def publish_batch(self, items: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> None:
        for channels, data in items:
            raw = orjson.dumps(data)
            for channel in channels:
                self._fanout.deliver(channel, raw)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[bytes]]:
        queue = self._fanout.add(channels)
        try:
            yield queue
        finally:
            self._fanout.remove(channels, queue)

    async def close(self) -> None:
        return None


class RedisBroker:
    """One Redis pub/sub connection per process; local fan-out to that process's sockets."""

    def __init__(self, url: str, prefix: str = "lingxi:rt:") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._prefix = prefix
        self._fanout = _LocalFanout()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, channel: str, data: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + channel, orjson.dumps(data))

    async def publish_batch(self, items: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> None:
        """Everything a transaction announces, in one pipelined round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for channels, data in items:
                raw = orjson.dumps(data)
                for channel in channels:
                    pipe.publish(self._prefix + channel, raw)
            await pipe.execute()

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[bytes]]:
        async with self._lock:
            new = [c for c in channels if c not in self._fanout.subscribers]
            queue = self._fanout.add(channels)
            if new:
                await self._pubsub.subscribe(*(self._prefix + c for c in new))
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="redis-realtime-reader")
        try:
            yield queue
        finally:
            async with self._lock:
                emptied = self._fanout.remove(channels, queue)
                if emptied:
                    await self._pubsub.unsubscribe(*(self._prefix + c for c in emptied))

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except Exception:
                log.exception("redis pub/sub read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if message is None:
                if not self._fanout.subscribers:
                    await asyncio.sleep(0.05)
                continue
            channel = message["channel"].decode()[len(self._prefix) :]
            self._fanout.deliver(channel, message["data"])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()
        await self._redis.aclose()


_broker: Broker | None = None


def get_broker() -> Broker:
    global _broker
    if _broker is None:
        from lingxi.settings import get_settings

        settings = get_settings()
        url = settings.redis_url
        _broker = RedisBroker(url, prefix=f"{settings.redis_prefix}rt:") if url else InMemoryBroker()
    return _broker


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker


def publish_after_commit(session: Any, channels: str | Sequence[str], data: dict[str, Any]) -> None:
    """Notify subscribers of `channels` once the caller's transaction has committed.

    Everything one transaction announces goes to the broker in one call (one pipelined round trip
    on Redis); each payload is serialised once for all its channels.
    """
    from lingxi.core.db import after_commit

    pending: list[tuple[tuple[str, ...], dict[str, Any]]] | None = session.info.get("realtime_pending")
    if pending is None:
        pending = session.info["realtime_pending"] = []

        async def _publish() -> None:
            await get_broker().publish_batch(session.info.pop("realtime_pending", []))

        after_commit(session, _publish)
    pending.append(((channels,) if isinstance(channels, str) else tuple(channels), data))
