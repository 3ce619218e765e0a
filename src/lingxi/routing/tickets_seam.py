"""Where a callback request or a left message becomes a work order: the seam to `lingxi.tickets`.

TRANSITIONAL until the tickets domain lands on main (another branch builds `lingxi.tickets` with
`do_create_ticket(...)`). Until then `create_work_order` creates nothing and returns None: the
request stays `pending` in `callback_requests`, listed on the supervisor wallboard, and nothing is
lost. When tickets land, this function calls `lingxi.tickets.service.do_create_ticket` (source
"conversation", the conversation's id, type "callback" or "message", the phone and message in the
fields) and returns the ticket's reference; routing marks the request `ticketed` with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.actor import Actor


@dataclass(frozen=True, slots=True)
class WorkOrderDraft:
    conversation_id: int
    customer_id: int | None
    kind: str  # callback | message
    skill_group: str
    phone: str | None
    message: str | None
    channel: str


async def create_work_order(*, session: AsyncSession, draft: WorkOrderDraft, actor: Actor) -> str | None:
    """The reference of the work order made from `draft`, or None when no tickets domain is installed."""
    return None
