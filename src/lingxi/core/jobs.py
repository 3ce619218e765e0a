"""Background jobs on taskiq: an in-memory broker in the embedded mode, Redis when configured.

Run workers for the Redis broker with `lingxi worker`. Tasks are defined in each domain's jobs.py
with `@broker.task` and enqueued with `await task.kiq(...)`.

Periodic jobs (`@periodic("name", every_seconds=…)`) are taskiq tasks too. One ticker decides when
they are due: inside the API process in the embedded mode (`lingxi run`), inside `lingxi worker` when
Redis is configured. With several worker processes every ticker tries a Redis `SET NX PX` on the
job's tick key, so each tick is enqueued once; any worker then runs it. A job must be safe to run
twice anyway (the SLA sweep claims rows with SKIP LOCKED and is idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, InMemoryBroker

from lingxi.settings import get_settings

log = logging.getLogger("lingxi.jobs")


def _make_broker() -> AsyncBroker:
    settings = get_settings()
    if settings.redis_url:
        from taskiq_redis import ListQueueBroker

        return ListQueueBroker(settings.redis_url, queue_name=f"{settings.redis_prefix}jobs")
    return InMemoryBroker()


broker: AsyncBroker = _make_broker()

PeriodicFn = Callable[[], Awaitable[Any]]


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    func: PeriodicFn
    task: AsyncTaskiqDecoratedTask[[], Any]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_periodic: dict[str, PeriodicJob] = {}


def periodic(name: str, *, every_seconds: float) -> Callable[[PeriodicFn], PeriodicFn]:
    """Register `func` (no arguments) to run every `every_seconds`; it is also a taskiq task `name`."""

    def register(func: PeriodicFn) -> PeriodicFn:
        task = broker.task(task_name=name)(_serialised(name))
        _periodic[name] = PeriodicJob(name=name, every_seconds=every_seconds, func=func, task=task)
        return func

    return register


def _serialised(name: str) -> PeriodicFn:
    async def run() -> Any:
        return await run_periodic(name)

    run.__name__ = name.replace(".", "_")
    return run


def periodic_jobs() -> dict[str, PeriodicJob]:
    return dict(_periodic)


async def run_periodic(name: str) -> Any:
    """Run a periodic job now; runs of the same job in one process never overlap."""
    job = _periodic[name]
    async with job.lock:
        return await job.func()


def jobs_run_in_process() -> bool:
    """Whether this API process should tick the periodic jobs itself (the embedded mode)."""
    settings = get_settings()
    if settings.jobs_in_process is not None:
        return settings.jobs_in_process
    return settings.redis_url is None and settings.env != "test"


class PeriodicRunner:
    """The ticker: runs (embedded) or enqueues once per tick (Redis) every periodic job when due."""

    def __init__(self, *, use_redis: bool | None = None) -> None:
        settings = get_settings()
        self.use_redis = bool(settings.redis_url) if use_redis is None else use_redis
        self._task: asyncio.Task[None] | None = None
        self._redis: Any = None

    async def _claim_tick(self, job: PeriodicJob) -> bool:
        if not self.use_redis:
            return True
        settings = get_settings()
        if self._redis is None:
            from redis.asyncio import from_url

            self._redis = from_url(settings.redis_url or "")
        tick = int(time.time() // job.every_seconds)
        key = f"{settings.redis_prefix}periodic:{job.name}:{tick}"
        return bool(await self._redis.set(key, b"1", nx=True, px=int(job.every_seconds * 2000)))

    async def tick(self, job: PeriodicJob) -> None:
        try:
            if not await self._claim_tick(job):
                return
            if self.use_redis:
                await job.task.kiq()
            else:
                await run_periodic(job.name)
        except Exception:  # one failing run must not stop the ticker
            log.exception("periodic job %s failed", job.name)

    async def run_forever(self) -> None:
        next_at = {name: time.monotonic() + min(job.every_seconds, 5.0) for name, job in _periodic.items()}
        while True:
            now = time.monotonic()
            for name, job in list(_periodic.items()):
                due = next_at.setdefault(name, now)
                if due <= now:
                    next_at[name] = now + job.every_seconds
                    await self.tick(job)
            wake = min(next_at.values(), default=now + 1.0)
            await asyncio.sleep(max(0.05, min(wake - time.monotonic(), 1.0)))

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="periodic-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
