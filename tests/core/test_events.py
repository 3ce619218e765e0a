"""The transactional outbox: an event is delivered after its transaction commits, never after a rollback,
and a failing handler is retried with back-off without blocking the other events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from lingxi.core.db import Database
from lingxi.core.events import OutboxEvent, emit, get_dispatcher
from lingxi.core.timeutil import utcnow


@pytest.fixture
def topic() -> Iterator[str]:
    """A topic of its own (the process-wide dispatcher may also be sweeping in the background)."""
    name = f"test.{uuid.uuid4().hex[:8]}"
    yield name
    get_dispatcher()._handlers.pop(name, None)


async def _event(db, event_id: int) -> OutboxEvent:
    async with db.sessionmaker() as s:
        event = await s.get(OutboxEvent, event_id)
        assert event is not None
        return event


async def test_delivered_after_commit(db, topic):
    dispatcher = get_dispatcher()
    seen: list[dict] = []

    @dispatcher.subscribe(topic)
    async def handler(session, payload):
        seen.append(payload)

    # The writer has an engine of its own, as another request would (the embedded SQLite engine has a
    # single pooled connection, which an open write transaction holds until it ends).
    writer = Database(db.settings)
    try:
        async with writer.sessionmaker() as s:
            event = emit(s, topic, {"ticket": 7, "status": "done"})
            await s.flush()
            await dispatcher.drain()
            assert seen == []  # written but not committed: invisible to the dispatcher
            await s.commit()
    finally:
        await writer.dispose()
    await dispatcher.drain()
    assert seen == [{"ticket": 7, "status": "done"}]
    assert (await _event(db, event.id)).delivered_at is not None
    await dispatcher.drain()
    assert len(seen) == 1  # delivered once


async def test_not_delivered_after_rollback(db, topic):
    dispatcher = get_dispatcher()
    seen: list[dict] = []
    dispatcher.subscribe(topic)(lambda session, payload: _append(seen, payload))
    async with db.sessionmaker() as s:
        emit(s, topic, {"n": 1})
        await s.flush()
        await s.rollback()
    await dispatcher.drain()
    assert seen == []
    async with db.sessionmaker() as s:
        assert await s.scalar(select(OutboxEvent).where(OutboxEvent.topic == topic)) is None


async def _append(seen: list[dict], payload: dict) -> None:
    seen.append(payload)


async def test_handler_writes_commit_with_delivery(db, topic):
    """A handler gets its own session, committed by the dispatcher (here it emits a follow-up event).

    This needs a second database connection while the dispatcher's claim session is open: with a
    one-connection pool the handler waits for the pool (and times out) unless the dispatcher releases
    its connection before running handlers."""
    dispatcher = get_dispatcher()
    follow_up = f"{topic}.next"
    seen: list[dict] = []

    @dispatcher.subscribe(topic)
    async def first(session, payload):
        emit(session, follow_up, {"from": payload["n"]})

    dispatcher.subscribe(follow_up)(lambda session, payload: _append(seen, payload))
    try:
        async with db.sessionmaker() as s:
            emit(s, topic, {"n": 5})
            await s.commit()
        await dispatcher.drain()
        assert seen == [{"from": 5}]
    finally:
        dispatcher._handlers.pop(follow_up, None)


async def test_failing_handler_is_retried_without_blocking_others(db, topic):
    dispatcher = get_dispatcher()
    calls: list[int] = []
    other_topic = f"{topic}.other"
    other_seen: list[dict] = []

    @dispatcher.subscribe(topic)
    async def flaky(session, payload):
        calls.append(payload["n"])
        if len(calls) == 1:
            raise RuntimeError("core banking timeout")

    dispatcher.subscribe(other_topic)(lambda session, payload: _append(other_seen, payload))
    try:
        async with db.sessionmaker() as s:
            failing = emit(s, topic, {"n": 1})
            fine = emit(s, other_topic, {"n": 2})
            await s.commit()
        await dispatcher.drain()
        assert calls == [1]
        assert other_seen == [{"n": 2}]  # the other event went through
        event = await _event(db, failing.id)
        assert event.delivered_at is None and event.attempts == 1
        assert "core banking timeout" in (event.last_error or "")
        assert event.next_attempt_at > utcnow()  # backed off: not retried at once
        await dispatcher.drain()
        assert calls == [1]
        # Once the back-off has passed, the next sweep delivers it.
        async with db.sessionmaker() as s:
            await s.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == failing.id)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            await s.commit()
        await dispatcher.drain()
        assert calls == [1, 1]
        event = await _event(db, failing.id)
        assert event.delivered_at is not None and event.attempts == 1
        assert (await _event(db, fine.id)).delivered_at is not None
    finally:
        dispatcher._handlers.pop(other_topic, None)


async def test_event_is_parked_after_too_many_failures(db, topic):
    dispatcher = get_dispatcher()

    @dispatcher.subscribe(topic)
    async def always_fails(session, payload):
        raise ValueError("bad payload")

    async with db.sessionmaker() as s:
        event = emit(s, topic, {})
        await s.commit()
    for _ in range(dispatcher.MAX_ATTEMPTS):
        async with db.sessionmaker() as s:
            await s.execute(
                update(OutboxEvent).where(OutboxEvent.id == event.id).values(next_attempt_at=utcnow())
            )
            await s.commit()
        await dispatcher.drain()
    parked = await _event(db, event.id)
    assert parked.attempts == dispatcher.MAX_ATTEMPTS and parked.delivered_at is None
    assert parked.next_attempt_at > utcnow() + timedelta(days=365)


async def test_session_scope_kicks_the_dispatcher_only_after_commit(db, topic, monkeypatch):
    from lingxi.core.db import after_commit, session_scope

    dispatcher = get_dispatcher()
    kicks: list[str] = []
    callbacks: list[str] = []
    monkeypatch.setattr(dispatcher, "kick", lambda: kicks.append("kick"))

    async def callback() -> None:
        callbacks.append("after commit")

    async for s in session_scope():
        emit(s, topic, {"via": "request"})
        after_commit(s, callback)
        assert kicks == [] and callbacks == []
    assert kicks == ["kick"] and callbacks == ["after commit"]

    with pytest.raises(RuntimeError):
        async for s in session_scope():
            emit(s, f"{topic}.rolled_back", {})
            after_commit(s, callback)
            raise RuntimeError("the request failed")
    assert kicks == ["kick"] and callbacks == ["after commit"]  # nothing more after the rollback
    async with db.sessionmaker() as s:
        topics = (await s.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic.startswith(topic)))).all()
    assert topics == [topic]
