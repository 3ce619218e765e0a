"""Writing the timeline of an order: every step, with its actor, time, note and visibility."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.actor import Actor
from lingxi.tickets import clock
from lingxi.tickets.models import Ticket, TicketEvent


def add_event(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: Actor,
    kind: str,
    note: str = "",
    visibility: str = "internal",
    from_status: str | None = None,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    event = TicketEvent(
        ticket_id=ticket.id,
        at=clock.now(),
        actor_type=actor.type,
        actor_id=str(actor.id)[:64],
        actor_name=(actor.name or "")[:100],
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        note=note,
        visibility=visibility,
        data=data,
    )
    session.add(event)
    return event
