"""Periodic job: send the customer notices held back by quiet hours once they are over."""

from __future__ import annotations

from lingxi.core.db import transaction
from lingxi.core.jobs import periodic
from lingxi.notifications.service import do_flush_deferred


@periodic("notifications.flush", every_seconds=60)
async def flush_deferred() -> int:
    async with transaction() as session:
        return await do_flush_deferred(session=session)
