"""The router task of each API process: push assignment on request, and a sweep every few seconds.

Requests come from the outbox handlers (`conversation.queued`, `agent.available`, `routing.requested`,
`conversation.closed`): the groups named are routed at once, each assignment in its own transaction
(`service.route_once`). Every `routing_tick_seconds` the sweep
1. moves entries past their group's maximum wait to the overflow group, or offers a callback;
2. routes every group with waiting customers (wrap-ups that ended, anything a lost event missed);
3. tells waiting customers their new place and estimated wait (every ANNOUNCE_SECONDS);
4. sets online agents whose workspace is gone away (`disconnected`).

Several processes may run routers at once: the group row lock serialises them per queue. Steps 1, 3
and 4 run in one process at a time (a PostgreSQL advisory lock), so customers are not told twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents import service as agents
from lingxi.agents.connections import get_registry
from lingxi.agents.models import AgentProfile
from lingxi.auth import service as auth
from lingxi.core.actor import Actor
from lingxi.core.db import Database, commit, get_database
from lingxi.core.errors import Conflict
from lingxi.core.timeutil import utcnow
from lingxi.routing import service
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.routing")

SWEEP_LOCK_KEY = 0x4C58_5254  # "LXRT": one sweeper at a time across processes (PostgreSQL)
MAX_RETRIES = 25
ANNOUNCE_SECONDS = 5.0


async def route_group(group_code: str, *, database: Database | None = None) -> int:
    """Assign waiting conversations of one group until no available agent can take one; returns how many."""
    database = database or get_database()
    async with database.sessionmaker() as session:
        if not await service.has_work(session=session, group_code=group_code):
            return 0
    assigned = retries = 0
    while True:
        async with database.sessionmaker() as session:
            try:
                progressed = await service.route_once(session=session, group_code=group_code)
                if not progressed:
                    await session.rollback()
                    return assigned
                await commit(session)
                assigned += 1
            except (Conflict, service.RetryRouting, DBAPIError) as exc:
                # Someone was faster (a pull accept, another router, a presence change) or the
                # database gave up a lock (deadlock, busy): start again from fresh data.
                await session.rollback()
                retries += 1
                if retries > MAX_RETRIES:
                    log.warning("routing %s: giving up after %s retries (%r)", group_code, retries, exc)
                    return assigned


async def route_all(*, database: Database | None = None) -> int:
    database = database or get_database()
    async with database.sessionmaker() as session:
        groups = await service.list_waiting_groups(session=session)
    total = 0
    for group in groups:
        total += await route_group(group, database=database)
    return total


@contextlib.asynccontextmanager
async def _sweep_lock(session: AsyncSession) -> AsyncIterator[bool]:
    """True if this process holds the sweep (always on SQLite: one process)."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        yield True
        return
    got = bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}))
    yield got


async def _away_if_disconnected(session: AsyncSession, now: datetime) -> list[int]:
    """Online (or busy) agents whose workspace was open after they went online and has been gone for
    the grace period are set away. An agent online through the API alone is left alone."""
    grace = get_settings().routing_disconnect_grace_seconds
    rows = (
        await session.execute(
            select(AgentProfile.agent_id, AgentProfile.presence_since).where(
                AgentProfile.presence.in_(("online", "busy"))
            )
        )
    ).all()
    if not rows:
        return []
    since = {agent_id: presence_since.timestamp() for agent_id, presence_since in rows}
    liveness = await get_registry().liveness(list(since))
    gone = [
        agent_id
        for agent_id, seen in liveness.items()
        if seen.live == 0
        and seen.last_seen is not None
        and seen.last_seen >= since[agent_id]
        and time.time() - seen.last_seen > grace
    ]
    for agent_id in gone:
        agent = await auth.access_staff(session=session, staff_id=agent_id)
        await agents.do_set_presence(
            session=session,
            actor=Actor.system("presence"),
            agent=agent,
            presence="away",
            reason="disconnected",
        )
    return gone


async def sweep(
    *, database: Database | None = None, now: datetime | None = None, announce: bool = True
) -> dict[str, int]:
    """One round of the periodic work (see the module docstring); returns counts for logs and tests.

    `announce=False` skips telling customers their places (the router does that less often).
    """
    database = database or get_database()
    counts = {"overflowed_groups": 0, "assigned": 0, "announced": 0, "set_away": 0}
    async with database.sessionmaker() as session:
        async with _sweep_lock(session) as mine:
            if not mine:
                await session.rollback()
                counts["assigned"] = await route_all(database=database)
                return counts
            groups = await service.do_process_timeouts(session=session, now=now)
            counts["overflowed_groups"] = len(groups)
            counts["set_away"] = len(await _away_if_disconnected(session, now or utcnow()))
            await commit(session)
    counts["assigned"] = await route_all(database=database)
    if not announce:
        return counts
    async with database.sessionmaker() as session:
        async with _sweep_lock(session) as mine:
            if mine:
                counts["announced"] = await service.do_announce_positions(session=session, now=now)
            await commit(session)
    return counts


class Router:
    """Per process: routes the groups asked for, and sweeps every `routing_tick_seconds`."""

    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._last_sweep = 0.0
        self._last_announce = 0.0

    def request(self, groups: Iterable[str]) -> None:
        new = set(groups)
        if not new:
            return
        self._pending |= new
        self._idle.clear()
        self._wake.set()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No routing or sweep runs inside this block (tests use it around TRUNCATE)."""
        async with self._lock:
            yield

    async def settle(self) -> None:
        """Wait until every requested group has been routed (tests, the benchmark)."""
        await self._idle.wait()

    async def run_pending(self) -> int:
        total = 0
        while self._pending:
            groups, self._pending = sorted(self._pending), set()
            async with self._lock:
                for group in groups:
                    try:
                        total += await route_group(group)
                    except Exception:
                        log.exception("routing of %s failed", group)
        if not self._pending:
            self._idle.set()
        return total

    async def run_forever(self) -> None:
        tick = get_settings().routing_tick_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=tick)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.run_pending()
            if time.monotonic() - self._last_sweep >= tick:
                self._last_sweep = time.monotonic()
                # Every place in a queue moves with each assignment: tell customers every few seconds,
                # not on every sweep.
                announce = time.monotonic() - self._last_announce >= ANNOUNCE_SECONDS
                if announce:
                    self._last_announce = time.monotonic()
                try:
                    async with self._lock:
                        await sweep(announce=announce)
                except Exception:
                    log.exception("routing sweep failed")

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run_forever(), name="router")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


_router = Router()


def get_router() -> Router:
    return _router
