"""Outbox handler: deliver a queued customer notice (registered on import, see lingxi.handlers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.events import get_dispatcher
from lingxi.notifications.service import DELIVER_TOPIC, do_deliver


async def on_deliver(session: AsyncSession, payload: dict[str, Any]) -> None:
    await do_deliver(session=session, notification_id=int(payload["notification_id"]))


get_dispatcher().subscribe(DELIVER_TOPIC)(on_deliver)
