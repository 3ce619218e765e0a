"""Queue entries (one per wait of a conversation for a person), callback requests and internal notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

ENTRY_KINDS = ("handoff", "transfer")
# waiting → answered | abandoned | callback (customer chose a call back or a message) | closed (by staff)
ENTRY_STATUSES = ("waiting", "answered", "abandoned", "callback", "closed")
NOTE_KINDS = ("transfer", "whisper", "invite")
CALLBACK_KINDS = ("callback", "message")


class QueueEntry(Base):
    """A conversation waiting for a person in a skill group's queue, and how that wait ended.

    `rank_at` orders the queue: the arrival time moved earlier by the entry's priority points
    (points × ageing seconds), so a VIP is served as if they had arrived earlier and every entry's
    priority rises with its wait at the same rate; ties go to the earlier arrival. Overflow to
    another group keeps the entry (and its place in time).
    """

    __tablename__ = "queue_entries"
    __table_args__ = (
        UniqueConstraint("conversation_id", "queued_at"),
        Index("ix_queue_entries_waiting", "status", "skill_group", "rank_at", "id"),
        Index("ix_queue_entries_ended", "ended_at"),
        Index("ix_queue_entries_customer", "customer_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    kind: Mapped[str] = mapped_column(String(10), default="handoff")
    skill_group: Mapped[str] = mapped_column(String(40))
    original_group: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str | None] = mapped_column(String(20), default=None)
    urgent: Mapped[bool] = mapped_column(default=False)
    points: Mapped[int] = mapped_column(default=0)
    queued_at: Mapped[datetime]
    rank_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    preferred_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )  # sticky: the customer's last agent
    excluded_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )  # a transfer to a group does not come back to the agent who transferred
    overflow_count: Mapped[int] = mapped_column(default=0)
    overflowed_at: Mapped[datetime | None] = mapped_column(default=None)
    callback_offered_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    assignment: Mapped[str | None] = mapped_column(String(10), default=None)  # push | pull | sticky
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    wait_seconds: Mapped[float | None] = mapped_column(default=None)
    announced_position: Mapped[int | None] = mapped_column(default=None)
    announced_wait: Mapped[int | None] = mapped_column(default=None)


class CallbackRequest(Base):
    """A queued customer chose a call back or left a message instead of waiting (becomes a work order)."""

    __tablename__ = "callback_requests"
    __table_args__ = (Index("ix_callback_requests_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    skill_group: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # callback | message
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | ticketed | done
    ticket_reference: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationNote(Base):
    """Staff-only notes on a conversation: transfer notes, a supervisor's whisper, a call for help.

    Kept apart from messages on purpose: nothing in this table can reach the customer's channel.
    """

    __tablename__ = "conversation_notes"
    __table_args__ = (
        Index("ix_conversation_notes_conversation", "conversation_id", "id"),
        Index("ix_conversation_notes_open_invites", "kind", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    author_name: Mapped[str] = mapped_column(String(100))
    to_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )
    to_group: Mapped[str | None] = mapped_column(String(40), default=None)
    text: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)  # invites: a supervisor responded
