"""Delivery de-duplication for inbound channels and the record of what demo adapters would send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow


class InboundDelivery(Base):
    """One row per inbound delivery key (WeChat MsgId, webhook idempotency key).

    Inserting the row claims the key atomically (unique constraint): a retry that arrives while the
    first delivery is still being processed finds the row and creates nothing.
    """

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("channel", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="processing")  # processing | done
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    reply_mode: Mapped[str | None] = mapped_column(String(10), default=None)  # passive | async
    message_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class OutboundRecord(Base):
    """What a demo adapter (SMS, WeChat customer-service message, app push) would have sent."""

    __tablename__ = "outbound_records"
    __table_args__ = (Index("ix_outbound_records_recipient", "recipient", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    adapter: Mapped[str] = mapped_column(String(30))  # sms | wechat_cs | app_push
    recipient: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
