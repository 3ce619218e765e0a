"""Background jobs on taskiq: an in-memory broker in the embedded mode, Redis when configured.

Run workers for the Redis broker with `lingxi worker`. Tasks are defined in each domain's jobs.py
with `@broker.task` and enqueued with `await task.kiq(...)`.
"""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker

from lingxi.settings import get_settings


def _make_broker() -> AsyncBroker:
    settings = get_settings()
    if settings.redis_url:
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(settings.redis_url, queue_name=f"{settings.redis_prefix}jobs")
    return InMemoryBroker()


broker: AsyncBroker = _make_broker()
