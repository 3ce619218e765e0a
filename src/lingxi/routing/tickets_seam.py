"""Where a callback request or a left message becomes a work order (`lingxi.tickets`).

A known customer's request becomes an inquiry order from the conversation (category: the intent the
bot recognised, else `other`), dispatched and on its SLA clock like any other; routing marks the
request `ticketed` with the order's number. A visitor's request (no customer) cannot be a work order:
it stays `pending` on the supervisor's wallboard, with the number they gave.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.actor import Actor
from lingxi.tickets import service as tickets
from lingxi.tickets.categories import BY_ID


@dataclass(frozen=True, slots=True)
class WorkOrderDraft:
    conversation_id: int
    customer_id: int | None
    kind: str  # callback | message
    skill_group: str
    phone: str | None
    message: str | None
    channel: str
    intent: str | None
    english: bool


async def create_work_order(*, session: AsyncSession, draft: WorkOrderDraft, actor: Actor) -> str | None:
    """The number of the work order made from `draft`, or None for a visitor."""
    if draft.customer_id is None:
        return None
    category = draft.intent if draft.intent in BY_ID else "other"
    if draft.kind == "callback":
        title = "Call back requested while waiting" if draft.english else "排队时预约回电"
        description = (
            f"Call the customer back on {draft.phone}." if draft.english else f"请回电客户：{draft.phone}。"
        )
    else:
        title = "Message left while waiting" if draft.english else "排队时客户留言"
        description = draft.message or ""
    ticket = await tickets.do_create_ticket(
        session=session,
        customer_id=draft.customer_id,
        type="inquiry",
        category=category,
        title=title,
        description=description,
        fields={"topic": f"{draft.skill_group}", "callback_time": "anytime"},
        source="conversation",
        channel=draft.channel,
        conversation_id=draft.conversation_id,
        actor=actor,
    )
    return ticket.ticket_no
