"""Skill groups and agents: membership with proficiency, presence and capacity, the workspace's tables.

Routing (lingxi.routing) builds queues on the skill groups and assigns to agents by their profile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

STRATEGIES = ("longest_idle", "least_busy", "round_robin")
TIMEOUT_ACTIONS = ("callback", "wait")  # after the maximum wait, when there is no overflow group
PRESENCES = ("online", "busy", "away", "offline")


class SkillGroup(Base):
    __tablename__ = "skill_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(300), default=None)
    # How the group's queue is served (lingxi.routing).
    strategy: Mapped[str] = mapped_column(String(20), default="longest_idle")
    max_wait_seconds: Mapped[int] = mapped_column(default=180)
    overflow_group: Mapped[str | None] = mapped_column(String(40), default=None)  # a group's code
    timeout_action: Mapped[str] = mapped_column(String(20), default="callback")
    service_level_seconds: Mapped[int] = mapped_column(default=20)
    rr_cursor: Mapped[int | None] = mapped_column(default=None)  # round robin: the agent served last


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (UniqueConstraint("agent_id", "skill_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    skill_group_id: Mapped[int] = mapped_column(ForeignKey("skill_groups.id", ondelete="CASCADE"))
    proficiency: Mapped[int] = mapped_column(default=3)  # 1 (learning) .. 5 (expert)


class AgentProfile(Base):
    """An agent's presence and routing limits; an agent without a row is offline with the defaults.

    The total capacity is the staff user's `max_concurrent_chats`; `channel_capacity` caps channels
    inside it (e.g. {"wechat": 2}). `idle_since` orders the longest-idle strategy: set when the agent
    comes online, receives a chat or finishes a wrap-up.
    """

    __tablename__ = "agent_profiles"
    __table_args__ = (Index("ix_agent_profiles_presence", "presence"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    presence: Mapped[str] = mapped_column(String(10), default="offline")
    presence_reason: Mapped[str | None] = mapped_column(String(30), default=None)
    presence_since: Mapped[datetime] = mapped_column(default=utcnow)
    idle_since: Mapped[datetime] = mapped_column(default=utcnow)
    wrap_up_until: Mapped[datetime | None] = mapped_column(default=None)
    wrap_up_seconds: Mapped[int | None] = mapped_column(default=None)  # None: the bank's default
    channel_capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CannedResponse(Base):
    """A prepared answer with {variables}; shared by the team (owner None) or an agent's own."""

    __tablename__ = "canned_responses"
    __table_args__ = (Index("ix_canned_responses_owner", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), default=None
    )
    skill_group: Mapped[str | None] = mapped_column(String(40), default=None)  # None: every group
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    shortcut: Mapped[str | None] = mapped_column(String(30), default=None)
    title: Mapped[str] = mapped_column(String(80))
    content: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WrapUp(Base):
    """What the agent recorded after closing a chat (after-contact work)."""

    __tablename__ = "conversation_wrap_ups"
    __table_args__ = (
        UniqueConstraint("conversation_id", "closed_at"),
        Index("ix_conversation_wrap_ups_agent", "agent_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    closed_at: Mapped[datetime]  # which closing of the conversation this wrap-up is for
    agent_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CsatResponse(Base):
    """The customer's satisfaction answer (1–5) after an agent closed the chat."""

    __tablename__ = "csat_responses"
    __table_args__ = (
        UniqueConstraint("conversation_id", "closed_at"),
        Index("ix_csat_responses_agent", "agent_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    closed_at: Mapped[datetime]
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
