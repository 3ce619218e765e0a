"""Delivery de-duplication for inbound channels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow


class InboundDelivery(Base):
    """One row per inbound delivery key (WeChat MsgId, webhook idempotency key).

    Inserting the row claims the key atomically (unique constraint): a retry that arrives while the
    first delivery is still being processed finds the row and creates nothing.

    The claim is committed on its own before processing. `claim_token` names the attempt that owns
    it: processing commits its messages together with a conditional update "done WHERE claim_token =
    mine", so an attempt that lost its claim (taken over after `claimed_at` went stale because the
    process died) stores nothing. A failed attempt deletes its claim so that a retry can process.
    """

    __tablename__ = "inbound_deliveries"
    __table_args__ = (UniqueConstraint("channel", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="processing")  # processing | done
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    reply_mode: Mapped[str | None] = mapped_column(String(10), default=None)  # passive | async | json
    message_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Added for the WeChat and webhook channels: who holds the claim, since when, and (webhooks)
    # the SHA-256 of the request body, so that a key reused for a different body is refused.
    claim_token: Mapped[str | None] = mapped_column(String(36), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
