"""ORM rows of the work-order domain → the masked API shapes (staff console)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.auth.models import StaffUser
from lingxi.conversations import service as conversations
from lingxi.core.masking import mask_text
from lingxi.customers import service as customers
from lingxi.customers.models import Customer
from lingxi.tickets import service
from lingxi.tickets.categories import BY_ID
from lingxi.tickets.fields import field_labels
from lingxi.tickets.models import Ticket, TicketTeam
from lingxi.tickets.schemas import (
    AttachmentRead,
    CustomerBrief,
    SlaState,
    StaffBrief,
    TeamRead,
    TicketDetail,
    TicketEventRead,
    TicketSummary,
)


def team_read(team: TicketTeam) -> TeamRead:
    return TeamRead.model_validate(team, from_attributes=True)


async def summaries(*, session: AsyncSession, tickets: Sequence[Ticket]) -> list[TicketSummary]:
    customer_ids = {t.customer_id for t in tickets}
    team_ids = {t.team_id for t in tickets if t.team_id is not None}
    staff_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    people = {
        c.id: c for c in (await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))).all()
    }
    teams = {
        t.id: t for t in (await session.scalars(select(TicketTeam).where(TicketTeam.id.in_(team_ids)))).all()
    }
    staff = {
        u.id: u for u in (await session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))).all()
    }
    out = []
    for t in tickets:
        customer = people[t.customer_id]
        team = teams.get(t.team_id) if t.team_id is not None else None
        assignee = staff.get(t.assignee_id) if t.assignee_id is not None else None
        category = BY_ID.get(t.category)
        out.append(
            TicketSummary(
                id=t.id,
                ticket_no=t.ticket_no,
                type=t.type,
                category=t.category,
                category_label=category.zh if category else t.category,
                priority=t.priority,
                status=t.status,
                title=mask_text(t.title) or "",
                customer=CustomerBrief(
                    id=customer.id,
                    customer_no=customer.customer_no,
                    display_name=customers.display_name(customer),
                    tier=customer.tier,
                    is_vip=customer.is_vip,
                    branch_code=customer.branch_code,
                ),
                team=team_read(team) if team else None,
                assignee=StaffBrief(id=assignee.id, display_name=assignee.display_name) if assignee else None,
                branch_code=t.branch_code,
                channel=t.channel,
                source=t.source,
                parent_id=t.parent_id,
                open_subtasks=t.open_subtasks,
                urge_count=t.urge_count,
                created_at=t.created_at,
                updated_at=t.updated_at,
                due_at=t.due_at,
                sla_paused=t.sla_paused_at is not None,
                breached=t.breached_at is not None,
                escalation_level=t.escalation_level,
            )
        )
    return out


def sla_state(ticket: Ticket) -> SlaState:
    return SlaState(
        policy_id=ticket.sla_policy_id,
        calendar=ticket.sla_calendar,
        first_response_due_at=ticket.first_response_due_at,
        first_responded_at=ticket.first_responded_at,
        first_response_met=ticket.first_response_met,
        warn_at=ticket.warn_at,
        due_at=ticket.due_at,
        remaining_seconds=service.sla_remaining_seconds(ticket),
        paused=ticket.sla_paused_at is not None,
        warned=ticket.warned_at is not None,
        breached=ticket.breached_at is not None,
        resolution_met=ticket.resolution_met,
        escalation_level=ticket.escalation_level,
        next_escalation_at=ticket.next_escalation_at,
    )


async def detail(*, session: AsyncSession, ticket: Ticket) -> TicketDetail:
    [summary] = await summaries(session=session, tickets=[ticket])
    events = await service.get_timeline(session=session, ticket=ticket)
    numbers = await service.ticket_numbers(
        session=session,
        ids=[e.ticket_id for e in events]
        + [i for i in (ticket.merged_into_id, ticket.parent_id) if i is not None],
    )
    subtasks = await service.list_subtasks(session=session, parent_id=ticket.id)
    conversation = (
        await conversations.get_conversation(session=session, conversation_id=ticket.conversation_id)
        if ticket.conversation_id is not None
        else None
    )
    return TicketDetail(
        ticket=summary,
        description=mask_text(ticket.description) or "",
        fields=ticket.fields,
        field_labels=field_labels(ticket.type, ticket.fields, "zh-CN"),
        resolution=mask_text(ticket.resolution),
        conversation_id=conversation.public_id if conversation else None,
        merged_into=numbers.get(ticket.merged_into_id) if ticket.merged_into_id else None,
        parent_no=numbers.get(ticket.parent_id) if ticket.parent_id else None,
        subtasks=await summaries(session=session, tickets=subtasks),
        sla=sla_state(ticket),
        rating=ticket.rating,
        rating_comment=mask_text(ticket.rating_comment),
        timeline=[
            TicketEventRead(
                id=e.id,
                ticket_id=e.ticket_id,
                ticket_no=numbers.get(e.ticket_id, ticket.ticket_no),
                at=e.at,
                actor_type=e.actor_type,
                actor_name=e.actor_name,
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                note=mask_text(e.note) or "",
                visibility=e.visibility,
                data=e.data,
            )
            for e in events
        ],
        attachments=[
            AttachmentRead.model_validate(a, from_attributes=True)
            for a in await service.list_attachments(session=session, ticket_id=ticket.id)
        ],
        allowed_actions=service.allowed_actions(ticket),
    )
