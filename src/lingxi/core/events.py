"""Domain events through a transactional outbox.

`emit()` adds an `OutboxEvent` row in the caller's transaction; after commit the dispatcher delivers
undelivered rows to the subscribed handlers, each in its own transaction, and marks them delivered.
A process that dies between commit and delivery leaves the row undelivered; the next sweep (every
few seconds, in every API or worker process) delivers it. On PostgreSQL rows are claimed with
SKIP LOCKED so several processes share the work; handlers must be idempotent (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base, get_database
from lingxi.core.timeutil import utcnow

log = logging.getLogger("lingxi.events")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)


def emit(session: AsyncSession, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the caller's transaction; it is delivered only if that transaction commits."""
    event = OutboxEvent(topic=topic, payload=payload)
    session.add(event)
    session.info["events_emitted"] = True  # tells commit() to wake the dispatcher
    return event


class Dispatcher:
    MAX_ATTEMPTS = 10
    BATCH = 100

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def subscribe(self, topic: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if handler not in self._handlers[topic]:
                self._handlers[topic].append(handler)
            return handler

        return register

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No delivery runs inside this block (tests use it around TRUNCATE between tests)."""
        async with self._lock:
            yield

    def kick(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Deliver everything pending now; returns how many events were handled (used by tests, CLI)."""
        total = 0
        while True:
            done = await self._deliver_batch()
            total += done
            if done == 0:
                return total

    async def _deliver_batch(self) -> int:
        async with self._lock:
            db = get_database()
            async with db.sessionmaker() as session:
                stmt = (
                    select(OutboxEvent)
                    .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.next_attempt_at <= utcnow())
                    .order_by(OutboxEvent.id)
                    .limit(self.BATCH)
                )
                if not db.settings.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True)
                events = list((await session.scalars(stmt)).all())
                if db.settings.is_sqlite:
                    # Embedded mode is one process (and the lock above one sweep at a time): no row
                    # locks to keep, so free the connection while handlers open their own sessions.
                    await session.commit()
                for event in events:
                    await self._deliver_one(event)
                    session.add(event)
                await session.commit()
                return len(events)

    async def _deliver_one(self, event: OutboxEvent) -> None:
        try:
            for handler in self._handlers.get(event.topic, []):
                async with get_database().sessionmaker() as handler_session:
                    await handler(handler_session, event.payload)
                    await handler_session.commit()
            event.delivered_at = utcnow()
        except Exception as exc:  # a failing handler must not stop the others; retried with back-off
            event.attempts += 1
            event.last_error = repr(exc)[:500]
            delay = min(2**event.attempts, 3600)
            event.next_attempt_at = utcnow() + timedelta(seconds=delay)
            if event.attempts >= self.MAX_ATTEMPTS:
                log.error("event %s (%s) failed %s times; parked", event.id, event.topic, event.attempts)
                event.next_attempt_at = utcnow() + timedelta(days=3650)
            else:
                log.warning("event %s (%s) failed: %r; retry in %ss", event.id, event.topic, exc, delay)

    async def run_forever(self, sweep_seconds: float = 5.0) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=sweep_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("outbox sweep failed")

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


_dispatcher = Dispatcher()


def get_dispatcher() -> Dispatcher:
    return _dispatcher
