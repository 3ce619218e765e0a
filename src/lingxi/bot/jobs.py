"""The bot's periodic job: conversations left with the bot are closed, and their outcome recorded."""

from __future__ import annotations

import logging

from lingxi.bot import service
from lingxi.core.db import transaction
from lingxi.core.jobs import periodic
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.bot")


@periodic("bot.close_idle", every_seconds=get_settings().bot_idle_sweep_seconds)
async def close_idle() -> int:
    total = 0
    while True:
        async with transaction() as session:
            closed = await service.do_close_idle_conversations(
                session=session, idle_minutes=get_settings().bot_idle_close_minutes
            )
        total += closed
        if closed < service.IDLE_BATCH:
            break
    if total:
        log.info("closed %d idle bot conversations", total)
    return total
