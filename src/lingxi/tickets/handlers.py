"""Outbox handlers of the work-order domain (registered on import, see lingxi.handlers).

`ticket.created`: look for a hot issue, then let the automation rules try to complete the order. Both
are idempotent: an order already counted in an alert is not counted again, and automation only acts
on orders still new or assigned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.events import get_dispatcher
from lingxi.tickets import automation, service


async def on_created(session: AsyncSession, payload: dict[str, Any]) -> None:
    ticket = await service.get_ticket(session=session, ticket_id=int(payload["ticket_id"]))
    if ticket is None:
        return
    await service.do_detect_hot_issue(session=session, ticket=ticket)
    await automation.do_run_automation(session=session, ticket=ticket)


get_dispatcher().subscribe(service.TICKET_CREATED)(on_created)
