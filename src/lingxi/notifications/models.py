"""Every notice Lingxi sends or holds back: to customers (on a channel) and to staff (in the console)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

RECIPIENT_TYPES = ("customer", "staff")
# pending: to be delivered now · deferred: held until `send_after` (quiet hours) · sent · skipped
# (no consent or no reachable channel; `last_error` says why) · failed (the adapter gave up)
STATUSES = ("pending", "deferred", "sent", "skipped", "failed")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "send_after"),
        Index("ix_notifications_recipient", "recipient_type", "recipient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_type: Mapped[str] = mapped_column(String(10))
    recipient_id: Mapped[int]
    topic: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str | None] = mapped_column(String(40), default=None)
    subject_id: Mapped[str | None] = mapped_column(String(64), default=None)
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    channel_hint: Mapped[str | None] = mapped_column(String(20), default=None)
    channel: Mapped[str | None] = mapped_column(String(20), default=None)  # set on delivery
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    send_after: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
