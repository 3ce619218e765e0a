"""Pydantic shapes of conversations and messages at the API edge."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class MessageRead(BaseModel):
    id: int
    conversation_id: str
    channel: str
    direction: Literal["in", "out"]
    sender_type: Literal["customer", "bot", "agent", "system"]
    sender_name: str | None
    content_type: str
    content: str
    payload: dict[str, Any] | None
    client_msg_id: str | None
    created_at: datetime


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_msg_id: str = Field(min_length=1, max_length=64, description="Client-made id; repeats are ignored")
    text: str = Field(min_length=1, max_length=2000)


class MessageList(BaseModel):
    items: list[MessageRead]


class CustomerBrief(BaseModel):
    id: int
    customer_no: str
    display_name: str
    tier: str
    is_vip: bool


class AgentBrief(BaseModel):
    id: int
    display_name: str


class HandoffBrief(BaseModel):
    """What the bot hands over with a conversation (slots are masked displays)."""

    reason: str
    intent: str | None = None
    intent_title: dict[str, str] = {}  # zh-CN / en
    confidence: float | None = None
    slots: dict[str, str] = {}
    verification_level: str
    summary: dict[str, str] = {}  # zh-CN / en
    urgent: bool = False


class ConversationSummary(BaseModel):
    id: str
    channel: str
    status: str
    verification_level: str
    language: str
    customer: CustomerBrief | None
    assigned_agent: AgentBrief | None
    last_message: MessageRead | None
    handoff_reason: str | None = None
    handoff: HandoffBrief | None = None
    intent: str | None = None
    skill_group: str | None = None
    started_at: datetime
    last_message_at: datetime
    closed_at: datetime | None = None


class ConversationList(BaseModel):
    items: list[ConversationSummary]


class ConversationDetail(BaseModel):
    conversation: ConversationSummary
    messages: list[MessageRead]


class TimelineEntry(BaseModel):
    conversation: ConversationSummary
    messages: list[MessageRead]


class Timeline(BaseModel):
    items: list[TimelineEntry]
