"""Push and pull at once (one process, SQLite): the router assigns while agents accept by themselves.

No conversation may go to two agents, no agent over capacity, and no capacity may be lost. The
two-process version on PostgreSQL + Redis is in tests/scaleout.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import Counter

from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.conversations.models import Conversation, Message
from lingxi.routing.models import QueueEntry
from tests.routing_fixtures import set_presence, settle

AGENTS = 6
CAPACITY = 2
CONVERSATIONS = 20


async def test_router_and_accepts_race_without_double_assignment(api, db, make_group, make_agent, queue_chat):
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    await make_group("credit_card", strategy="least_busy")
    team = [await make_agent("credit_card", capacity=CAPACITY, presence=None) for _ in range(AGENTS)]
    chats = [await queue_chat(settle_after=False) for _ in range(CONVERSATIONS)]

    # Everyone comes online at once while the hand-offs are being queued and every agent also
    # grabs chats by hand, in random order.
    async def accept(agent, waiting):
        r = await api.post(f"/api/agent/conversations/{waiting.public_id}/accept", headers=agent.headers)
        return r.status_code, (r.json().get("error") or {}).get("code") if r.status_code != 200 else ""

    attempts = [accept(agent, chat) for agent in team for chat in rng.sample(chats, 5)]
    rng.shuffle(attempts)
    results = await asyncio.gather(settle(), *(set_presence(db, a, "online") for a in team), *attempts)
    await settle()
    outcomes = Counter(r for r in results if isinstance(r, tuple))
    assert set(outcomes) <= {(200, ""), (409, "conversation_taken"), (409, "agent_at_capacity")}, (
        seed,
        outcomes,
    )

    ids = [c.conversation_id for c in chats]
    async with db.sessionmaker() as s:
        rows = (
            await s.execute(
                select(Conversation.id, Conversation.assigned_agent_id).where(Conversation.id.in_(ids))
            )
        ).all()
        audits = Counter(
            int(a)
            for a in (
                await s.scalars(select(AuditLog.subject_id).where(AuditLog.action == "conversation.assign"))
            ).all()
        )
        joined = Counter(
            (
                await s.scalars(
                    select(Message.conversation_id).where(
                        Message.conversation_id.in_(ids), Message.sender_type == "system"
                    )
                )
            ).all()
        )
        entries = (await s.scalars(select(QueueEntry).where(QueueEntry.conversation_id.in_(ids)))).all()
    assigned = {cid: agent for cid, agent in rows if agent is not None}
    assert all(n == 1 for n in audits.values()) and set(audits) == set(assigned), seed
    assert all(joined[cid] == 1 for cid in assigned), seed
    load = Counter(assigned.values())
    assert max(load.values()) <= CAPACITY, (seed, load)
    assert len(assigned) == AGENTS * CAPACITY, (seed, load)  # no capacity lost
    answered = {e.conversation_id: e.agent_id for e in entries if e.status == "answered"}
    assert answered == assigned, seed
    assert sum(1 for e in entries if e.status == "waiting") == CONVERSATIONS - AGENTS * CAPACITY
