"""Conversations on any channel and their messages; a customer's timeline spans all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

CHANNELS = ("webchat", "app", "wechat", "sms", "ivr", "webhook")
STATUSES = ("bot", "queued", "assigned", "closed")
BOT_OUTCOMES = ("resolved_by_bot", "handed_off", "abandoned")
SENDER_TYPES = ("customer", "bot", "agent", "system")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_customer_started", "customer_id", "started_at"),
        Index("ix_conversations_status", "status", "last_message_at"),
        Index("ix_conversations_visitor", "visitor_id"),
        Index("ix_conversations_bot_outcome", "bot_outcome", "started_at"),
        # An agent's open chats (capacity checks, loads); also their last closed ones (sticky routing).
        Index("ix_conversations_agent_status", "assigned_agent_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    visitor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    channel_user_id: Mapped[str | None] = mapped_column(String(200), default=None)  # e.g. WeChat openid
    status: Mapped[str] = mapped_column(String(20), default="bot")
    verification_level: Mapped[str] = mapped_column(String(2), default="L0")
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    skill_group: Mapped[str | None] = mapped_column(String(40), default=None)
    intent: Mapped[str | None] = mapped_column(String(60), default=None)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(30), default=None)
    # What the bot achieved, for the KPIs: resolved_by_bot | handed_off | abandoned (None: still open).
    bot_outcome: Mapped[str | None] = mapped_column(String(20), default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_msg_id"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        Index("ix_messages_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender_type: Mapped[str] = mapped_column(String(10))
    sender_id: Mapped[str | None] = mapped_column(String(64), default=None)
    sender_name: Mapped[str | None] = mapped_column(String(100), default=None)  # as shown, already masked
    content_type: Mapped[str] = mapped_column(String(20), default="text")  # text | event | card
    content: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    client_msg_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as stored, as a plain value: what the message-writing services return.

    Building these from the INSERT's RETURNING rows costs a fraction of loading ORM objects, and the
    live chat path writes thousands per second.
    """

    id: int
    conversation_id: int
    customer_id: int | None
    channel: str
    direction: str
    sender_type: str
    sender_id: str | None
    sender_name: str | None
    content_type: str
    content: str
    payload: dict[str, Any] | None
    client_msg_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> StoredMessage:
        return cls(**{name: getattr(message, name) for name in cls.__slots__})
