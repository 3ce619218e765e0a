"""Fixtures for routing and workspace tests: skill groups, agents with skills and presence, customers
waiting in queues.

Conversations are queued the way the bot hands them over (`conversations.do_queue` with the hand-off
context: intent, urgency, tier), then the outbox and the router are let run (`settle`): the
`conversation.queued` handler creates the queue entry and the router pushes to available agents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from lingxi.agents import service as agents
from lingxi.agents.models import AgentSkill, SkillGroup
from lingxi.auth.models import StaffUser
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.db import Database, commit
from lingxi.core.events import get_dispatcher
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.routing.models import QueueEntry
from lingxi.routing.router import get_router
from tests.chat_helpers import bearer, open_chat


async def settle() -> None:
    """Deliver every pending event, then wait until the router has routed what they asked for."""
    for _ in range(3):  # routing emits events of its own (conversation.assigned …)
        await get_dispatcher().drain()
        await get_router().settle()


@dataclass
class Agent:
    user: StaffUser
    token: str

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class Waiting:
    """A customer's chat handed over to people."""

    chat: dict[str, Any]
    conversation_id: int

    @property
    def public_id(self) -> str:
        return str(self.chat["conversation_id"])

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.chat["session_token"])


@pytest.fixture
def make_group(db: Database) -> Callable[..., Awaitable[SkillGroup]]:
    async def factory(code: str = "credit_card", **routing: Any) -> SkillGroup:
        async with db.sessionmaker() as s:
            group = await agents.get_skill_group_by_code(session=s, code=code)
            if group is None:
                group = SkillGroup(code=code, name_zh=f"{code}组", name_en=code)
                s.add(group)
                await s.flush()
            for field, value in routing.items():
                setattr(group, field, value)
            await s.commit()
            return group

    return factory


@pytest.fixture
def make_agent(db: Database, make_staff: Any) -> Callable[..., Awaitable[Agent]]:
    async def factory(
        *groups: str,
        presence: str | None = "online",
        capacity: int = 3,
        role: str = "agent",
        wrap_up_seconds: int | None = 0,
        **kwargs: Any,
    ) -> Agent:
        user, token = await make_staff(role, max_concurrent_chats=capacity, **kwargs)
        async with db.sessionmaker() as s:
            ids = {g.code: g.id for g in (await s.scalars(select(SkillGroup))).all()}
            for code in groups:
                s.add(AgentSkill(agent_id=user.id, skill_group_id=ids[code], proficiency=3))
            profile = await agents.get_or_create_profile(session=s, agent_id=user.id)
            profile.wrap_up_seconds = wrap_up_seconds
            if presence is not None:
                await agents.do_set_presence(
                    session=s, actor=Actor.system("test"), agent=user, presence=presence
                )
            await commit(s)
        return Agent(user=user, token=token)

    return factory


@pytest.fixture
def queue_chat(api: httpx.AsyncClient, db: Database, make_customer: Any) -> Callable[..., Awaitable[Waiting]]:
    """A customer (new unless given) opens the chat and is handed over to `group` by the bot."""

    async def factory(
        group: str = "credit_card",
        *,
        tier: str = "standard",
        urgent: bool = False,
        intent: str | None = "bill_inquiry",
        customer: Any = None,
        language: str = "zh-CN",
        waited: float = 0.0,
        settle_after: bool = True,
    ) -> Waiting:
        customer = customer or await make_customer(tier=tier, gender="M")
        chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no), language=language)
        async with db.sessionmaker() as s:
            conversation = await conversations.access_conversation_by_public_id(
                session=s, public_id=chat["conversation_id"]
            )
            conversation.skill_group = group
            conversation.intent = intent
            conversation.context = {
                **conversation.context,
                "handoff": {
                    "reason": "fraud" if urgent else "customer_request",
                    "intent": intent,
                    "urgent": urgent,
                    "tier": customer.tier,
                    "slots": {},
                    "summary": {"zh-CN": "客户要求人工", "en": "customer asked for a person"},
                    "verification_level": conversation.verification_level,
                },
            }
            await conversations.do_queue(
                session=s, conversation=conversation, reason="customer_request", actor=Actor.system("bot")
            )
            if waited:
                conversation.queued_at = conversation.queued_at - timedelta(seconds=waited)
            await commit(s)
            waiting = Waiting(chat=chat, conversation_id=conversation.id)
        if settle_after:
            await settle()
        return waiting

    return factory


async def entry_of(db: Database, waiting: Waiting) -> QueueEntry:
    async with db.sessionmaker() as s:
        entry = await s.scalar(
            select(QueueEntry)
            .where(QueueEntry.conversation_id == waiting.conversation_id)
            .order_by(QueueEntry.id.desc())
        )
        assert entry is not None
        return entry


async def conversation_of(db: Database, waiting: Waiting) -> Conversation:
    async with db.sessionmaker() as s:
        conversation = await s.get(Conversation, waiting.conversation_id)
        assert conversation is not None
        return conversation


async def age_entry(db: Database, waiting: Waiting, seconds: float) -> None:
    """Pretend the wait started `seconds` earlier (the entry and the conversation)."""
    async with db.sessionmaker() as s:
        conversation = await s.get(Conversation, waiting.conversation_id)
        assert conversation is not None and conversation.queued_at is not None
        old = conversation.queued_at
        new = old - timedelta(seconds=seconds)
        entry = await s.scalar(
            select(QueueEntry).where(
                QueueEntry.conversation_id == conversation.id, QueueEntry.queued_at == old
            )
        )
        conversation.queued_at = new
        if entry is not None:
            entry.queued_at = new
            entry.rank_at = entry.rank_at - timedelta(seconds=seconds)
        await s.commit()


async def set_presence(db: Database, agent: Agent, presence: str, reason: str | None = None) -> None:
    async with db.sessionmaker() as s:
        user = await s.get(StaffUser, agent.id)
        assert user is not None
        await agents.do_set_presence(
            session=s, actor=Actor.system("test"), agent=user, presence=presence, reason=reason
        )
        await commit(s)


async def assigned_to(db: Database, waiting: Waiting) -> int | None:
    return (await conversation_of(db, waiting)).assigned_agent_id


async def set_idle_since(db: Database, agent: Agent, at: datetime) -> None:
    from lingxi.agents.models import AgentProfile

    async with db.sessionmaker() as s:
        await s.execute(update(AgentProfile).where(AgentProfile.agent_id == agent.id).values(idle_since=at))
        await s.commit()
