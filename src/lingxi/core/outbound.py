"""The developer outbox: what demo adapters (SMS, WeChat customer-service messages, app push) would send.

Real adapters send to the outside world; the demo ones record here so the developer inbox page and
tests can see what a customer would have received.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

log = logging.getLogger("lingxi.outbound")


class OutboundRecord(Base):
    __tablename__ = "outbound_records"
    __table_args__ = (Index("ix_outbound_records_recipient", "recipient", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    adapter: Mapped[str] = mapped_column(String(30))  # sms | wechat_cs | app_push
    recipient: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def record_outbound(
    session: AsyncSession, *, adapter: str, recipient: str, content: str, meta: dict[str, Any] | None = None
) -> OutboundRecord:
    row = OutboundRecord(adapter=adapter, recipient=recipient, content=content, meta=meta)
    session.add(row)
    return row


async def list_outbound(
    session: AsyncSession, *, adapter: str | None = None, recipient: str | None = None, limit: int = 100
) -> Sequence[OutboundRecord]:
    stmt = select(OutboundRecord).order_by(OutboundRecord.id.desc()).limit(limit)
    if adapter:
        stmt = stmt.where(OutboundRecord.adapter == adapter)
    if recipient:
        stmt = stmt.where(OutboundRecord.recipient == recipient)
    return (await session.scalars(stmt)).all()
