"""Which agents have their workspace open: live agent sockets, in process memory or in Redis.

Presence is what the agent chose (in the database); this is whether anyone is actually there. Each
agent socket registers itself and beats every HEARTBEAT_SECONDS; a connection whose beat is older than
STALE_SECONDS counts as gone (a process that died cannot say goodbye). When an online agent's last
connection has been gone for `routing_disconnect_grace_seconds`, the router's sweep sets them away
(reason `disconnected`), so no chat is pushed to an empty desk. Agents who never opened a socket
(API clients) are left alone.

With several API processes the registry must be shared: Redis when `LINGXI_REDIS_URL` is set.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HEARTBEAT_SECONDS = 15.0
STALE_SECONDS = 45.0


@dataclass(frozen=True, slots=True)
class Liveness:
    live: int  # connections with a recent beat
    last_seen: float | None  # epoch seconds of the last beat or close; None: never connected


class ConnectionRegistry(Protocol):
    async def opened(self, agent_id: int, conn_id: str) -> None: ...

    async def beat(self, agent_id: int, conn_id: str) -> None: ...

    async def closed(self, agent_id: int, conn_id: str) -> None: ...

    async def liveness(self, agent_ids: Sequence[int]) -> dict[int, Liveness]: ...


class MemoryRegistry:
    """One process (the embedded mode)."""

    def __init__(self) -> None:
        self._conns: dict[int, dict[str, float]] = {}
        self._last_seen: dict[int, float] = {}

    async def opened(self, agent_id: int, conn_id: str) -> None:
        await self.beat(agent_id, conn_id)

    async def beat(self, agent_id: int, conn_id: str) -> None:
        now = time.time()
        self._conns.setdefault(agent_id, {})[conn_id] = now
        self._last_seen[agent_id] = now

    async def closed(self, agent_id: int, conn_id: str) -> None:
        self._conns.get(agent_id, {}).pop(conn_id, None)
        self._last_seen[agent_id] = time.time()

    async def liveness(self, agent_ids: Sequence[int]) -> dict[int, Liveness]:
        cutoff = time.time() - STALE_SECONDS
        return {
            agent_id: Liveness(
                live=sum(1 for beat in self._conns.get(agent_id, {}).values() if beat >= cutoff),
                last_seen=self._last_seen.get(agent_id),
            )
            for agent_id in agent_ids
        }


class RedisRegistry:
    """Shared by every API process: a hash of connection beats per agent, one hash of last-seen times."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._prefix = prefix

    def _conns_key(self, agent_id: int) -> str:
        return f"{self._prefix}agents:conns:{agent_id}"

    @property
    def _seen_key(self) -> str:
        return f"{self._prefix}agents:last_seen"

    async def opened(self, agent_id: int, conn_id: str) -> None:
        await self.beat(agent_id, conn_id)

    async def beat(self, agent_id: int, conn_id: str) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._conns_key(agent_id), conn_id, now)
            pipe.expire(self._conns_key(agent_id), int(STALE_SECONDS * 4))
            pipe.hset(self._seen_key, str(agent_id), now)
            await pipe.execute()

    async def closed(self, agent_id: int, conn_id: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hdel(self._conns_key(agent_id), conn_id)
            pipe.hset(self._seen_key, str(agent_id), time.time())
            await pipe.execute()

    async def liveness(self, agent_ids: Sequence[int]) -> dict[int, Liveness]:
        if not agent_ids:
            return {}
        cutoff = time.time() - STALE_SECONDS
        async with self._redis.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.hvals(self._conns_key(agent_id))
            pipe.hmget(self._seen_key, [str(a) for a in agent_ids])
            *beats, seen = await pipe.execute()
        return {
            agent_id: Liveness(
                live=sum(1 for beat in agent_beats if float(beat) >= cutoff),
                last_seen=float(last) if last is not None else None,
            )
            for agent_id, agent_beats, last in zip(agent_ids, beats, seen, strict=True)
        }

    async def close(self) -> None:
        await self._redis.aclose()


_registry: MemoryRegistry | RedisRegistry | None = None


def get_registry() -> ConnectionRegistry:
    global _registry
    if _registry is None:
        from lingxi.settings import get_settings

        settings = get_settings()
        _registry = (
            RedisRegistry(settings.redis_url, settings.redis_prefix)
            if settings.redis_url
            else MemoryRegistry()
        )
    return _registry


async def close_registry() -> None:
    global _registry
    if isinstance(_registry, RedisRegistry):
        await _registry.close()
    _registry = None
