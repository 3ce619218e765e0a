"""Routing benchmark: assignment latency and throughput with 500 waiting customers and 200 agents.

Runs the real routing in this process (services, outbox dispatcher, router task; no HTTP) on a fresh
database: SQLite by default, or `--database-url postgresql+asyncpg://…` (its tables are recreated).

1. burst: `customers` hand-offs wait in four skill groups (VIP, urgent and transfers among them) while
   every agent is offline; then all `agents` come online at once and the router assigns until no
   agent has room. Reported: assignments, seconds, assignments per second, and the time of one
   assignment transaction (lock group, load agents, choose, lock agent, compare-and-set, commit).
2. push latency: the queue is refilled to `customers` waiting with every agent at capacity; then
   agents close chats at `close_rate` per second. Each close frees one slot, and the router (woken by
   the outbox event) gives it to the head of the queue. Reported: close → next assignment committed,
   p50 / p95 / p99 / max.

Run: `lingxi bench routing --json` or `python bench/routing.py`. Prints one JSON object; never passes or
fails on time. On a shared machine, report the figures as measured under load.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LINGXI_LOG_LEVEL", "WARNING")  # before lingxi's settings are read


@dataclass
class Options:
    customers: int = 500
    agents: int = 200
    capacity: int = 2  # per agent: 200 agents × 2 = 400 slots for 500 waiting customers
    closes: int = 200
    close_rate: float = 10.0  # closes per second in the push-latency phase (below saturation)
    database_url: str | None = None
    seed: int = 7


GROUPS = (  # code, share of customers
    ("general", 0.5),
    ("credit_card", 0.25),
    ("loans_wealth", 0.15),
    ("vip", 0.10),
)


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1] * 1000, 2),
        "mean": round(statistics.fmean(ordered) * 1000, 2),
    }


async def _prepare(url: str, opts: Options) -> tuple[list[int], dict[int, list[str]]]:
    """Schema, groups, agents (offline) with skills; returns agent ids and their groups."""
    from lingxi.agents.models import AgentProfile, AgentSkill, SkillGroup
    from lingxi.auth.models import StaffUser
    from lingxi.auth.service import hash_password
    from lingxi.core.db import Database, set_database
    from lingxi.core.timeutil import utcnow
    from lingxi.models import Base
    from lingxi.settings import Settings

    database = Database(Settings(database_url=url))
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    set_database(database)
    rng = random.Random(opts.seed)
    password = hash_password("Bench-2026-routing")
    now = utcnow()
    async with database.sessionmaker() as session:
        groups = {code: SkillGroup(code=code, name_zh=code, name_en=code) for code, _ in GROUPS}
        groups["general"].strategy = "least_busy"
        groups["vip"].strategy = "round_robin"
        session.add_all(groups.values())
        users = [
            StaffUser(
                username=f"bench{i:03d}",
                display_name=f"坐席{i:03d}",
                password_hash=password,
                role="agent",
                max_concurrent_chats=opts.capacity,
            )
            for i in range(opts.agents)
        ]
        session.add_all(users)
        await session.flush()
        skills: dict[int, list[str]] = {}
        for i, user in enumerate(users):
            mine = ["general", "credit_card" if i % 2 == 0 else "loans_wealth"]
            if i % 5 == 0:
                mine.append("vip")
            skills[user.id] = mine
            for code in mine:
                session.add(
                    AgentSkill(
                        agent_id=user.id, skill_group_id=groups[code].id, proficiency=rng.randint(2, 5)
                    )
                )
            session.add(
                AgentProfile(
                    agent_id=user.id,
                    presence="offline",
                    presence_since=now,
                    idle_since=now,
                    wrap_up_seconds=0,
                    channel_capacity={},
                )
            )
        await session.commit()
    return [u.id for u in users], skills


async def _queue(count: int, rng: random.Random) -> None:
    """`count` hand-offs the way the bot makes them (do_queue → conversation.queued event)."""
    from lingxi.conversations import service as conversations
    from lingxi.conversations.models import Conversation
    from lingxi.core.actor import Actor
    from lingxi.core.db import commit, get_database

    database = get_database()
    bot = Actor.system("bot")
    for _ in range(count):
        draw = rng.random()
        group, acc = "general", 0.0
        for code, share in GROUPS:
            acc += share
            if draw < acc:
                group = code
                break
        tier = "vip" if group == "vip" else rng.choice(("standard", "standard", "gold", "platinum"))
        urgent = rng.random() < 0.05
        async with database.sessionmaker() as session:
            conversation = Conversation(
                public_id=str(uuid.uuid4()),
                channel=rng.choice(("webchat", "webchat", "app")),
                visitor_id=f"v-bench-{uuid.uuid4().hex[:12]}",
                skill_group=group,
                context={"handoff": {"reason": "customer_request", "tier": tier, "urgent": urgent}},
            )
            session.add(conversation)
            await session.flush()
            await conversations.do_queue(
                session=session, conversation=conversation, reason="customer_request", actor=bot
            )
            await commit(session)


async def _set_presence(agent_ids: list[int], presence: str) -> None:
    from lingxi.agents import service as agents
    from lingxi.auth.models import StaffUser
    from lingxi.core.actor import Actor
    from lingxi.core.db import commit, get_database

    async with get_database().sessionmaker() as session:
        for agent_id in agent_ids:
            user = await session.get(StaffUser, agent_id)
            assert user is not None
            await agents.do_set_presence(
                session=session, actor=Actor.system("bench"), agent=user, presence=presence
            )
        await commit(session)


async def _count(status: str) -> int:
    from sqlalchemy import func, select

    from lingxi.core.db import get_database
    from lingxi.routing.models import QueueEntry

    async with get_database().sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(QueueEntry.status == status)) or 0)


async def _timed_route_all() -> tuple[int, list[float]]:
    """route_all with each assignment transaction timed."""
    from lingxi.core.db import commit, get_database
    from lingxi.routing import service

    database = get_database()
    async with database.sessionmaker() as session:
        groups = await service.list_waiting_groups(session=session)
    durations: list[float] = []
    for group in groups:
        while True:
            started = time.perf_counter()
            async with database.sessionmaker() as session:
                if not await service.route_once(session=session, group_code=group):
                    await session.rollback()
                    break
                await commit(session)
            durations.append(time.perf_counter() - started)
    return len(durations), durations


async def run(opts: Options) -> dict[str, Any]:
    from sqlalchemy import select

    from lingxi.auth.models import StaffUser
    from lingxi.conversations.models import Conversation
    from lingxi.core.actor import Actor
    from lingxi.core.db import commit, get_database
    from lingxi.core.events import get_dispatcher
    from lingxi.routing import service
    from lingxi.routing.router import get_router

    importlib.import_module("lingxi.handlers")  # the outbox handlers, as the app's start-up registers them
    tmp: tempfile.TemporaryDirectory[str] | None = None
    url = opts.database_url
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="lingxi-bench-routing-")
        url = f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    rng = random.Random(opts.seed)
    agent_ids, _ = await _prepare(url, opts)
    dispatcher = get_dispatcher()

    # --- 1. burst: customers waiting, every agent comes online at once -------------------------------
    await _queue(opts.customers, rng)
    await dispatcher.drain()  # queue entries (the handler also tells each customer their place)
    waiting_before = await _count("waiting")
    await _set_presence(agent_ids, "online")
    started = time.perf_counter()
    assigned, durations = await _timed_route_all()
    burst_seconds = time.perf_counter() - started
    await dispatcher.drain()

    # --- 2. push latency: refill the queue, agents at capacity close chats one by one -------------------
    await _queue(opts.customers - await _count("waiting"), rng)
    await dispatcher.drain()
    router = get_router()
    dispatcher.start()
    router.start()
    closes: list[tuple[int, float]] = []  # (agent id, epoch seconds the close committed)
    async with get_database().sessionmaker() as session:
        open_chats = list(
            (
                await session.execute(
                    select(Conversation.id, Conversation.assigned_agent_id).where(
                        Conversation.status == "assigned"
                    )
                )
            ).all()
        )
    rng.shuffle(open_chats)

    interval = 1.0 / opts.close_rate
    phase_started = time.perf_counter()
    for n, (conversation_id, agent_id) in enumerate(open_chats[: opts.closes]):
        target = phase_started + n * interval
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        async with get_database().sessionmaker() as session:
            conversation = await session.get(Conversation, conversation_id)
            agent = await session.get(StaffUser, agent_id)
            assert conversation is not None and agent is not None
            await service.do_close_by_agent(
                session=session, conversation=conversation, agent=agent, actor=Actor.system("bench")
            )
            await commit(session)
            closes.append((agent_id, time.time()))
    # Wait until every freed slot has been filled (or give up after 30 s).
    deadline = time.perf_counter() + 30
    latencies: list[float] = []
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        async with get_database().sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Conversation.assigned_agent_id, Conversation.assigned_at).where(
                        Conversation.status == "assigned"
                    )
                )
            ).all()
        by_agent: dict[int, list[float]] = {}
        for agent_id, assigned_at in rows:
            by_agent.setdefault(int(agent_id), []).append(assigned_at.timestamp())
        latencies = []
        for agent_id, closed_at in closes:
            later = sorted(t for t in by_agent.get(agent_id, []) if t >= closed_at)
            if later:
                latencies.append(later[0] - closed_at)
                by_agent[agent_id].remove(later[0])
        if len(latencies) == len(closes):
            break
    push_seconds = time.perf_counter() - phase_started
    await router.stop()
    await dispatcher.stop()
    await get_database().dispose()
    if tmp is not None:
        tmp.cleanup()
    return {
        "benchmark": "routing",
        "database": url.split(":", 1)[0] if opts.database_url else "sqlite (temporary file)",
        "python": platform.python_version(),
        "agents": opts.agents,
        "capacity_per_agent": opts.capacity,
        "waiting_customers": waiting_before,
        "burst": {
            "assignments": assigned,
            "seconds": round(burst_seconds, 3),
            "assignments_per_second": round(assigned / burst_seconds, 1) if burst_seconds else None,
            "assignment_transaction_ms": _percentiles(durations),
        },
        "push_latency": {
            "closes": len(closes),
            "close_rate_per_second": opts.close_rate,
            "filled": len(latencies),
            "seconds": round(push_seconds, 3),
            "close_to_next_assignment_ms": _percentiles(latencies),
        },
    }


def main(opts: Options) -> dict[str, Any]:
    return asyncio.run(run(opts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=Options.customers)
    parser.add_argument("--agents", type=int, default=Options.agents)
    parser.add_argument("--capacity", type=int, default=Options.capacity)
    parser.add_argument("--closes", type=int, default=Options.closes)
    parser.add_argument("--close-rate", type=float, default=Options.close_rate)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    args = parser.parse_args()
    result = main(
        Options(
            customers=args.customers,
            agents=args.agents,
            capacity=args.capacity,
            closes=args.closes,
            close_rate=args.close_rate,
            database_url=args.database_url,
        )
    )
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
