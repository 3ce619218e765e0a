"""The work-order domain: creation, the state machine, the timeline, dispatch, sub-tasks, merging,
attachments, the customer's self-service actions, the duplicate guard, hot issues and the SLA sweep.

Conventions: keyword-only, session first; services flush and the caller owns the transaction; every
mutation adds a timeline event and an audit row in the same transaction; events for others go to
the outbox. Customer-visible changes made by someone other than the customer are pushed to the
customer's channel through the notifications port.

Scope: staff with a branch code see only orders dispatched to their branch (others answer 404);
head-office staff see every order. Customers see only their own orders, never sub-tasks, and only
the customer-visible steps of the timeline.

For the bot (it calls these; keep the signatures stable): `do_create_ticket`, `list_customer_tickets`,
`customer_view`, `check_before_create`, `get_timeline`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.conversations import service as conversations
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, NotFound, RateLimited, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.masking import mask_text
from lingxi.customers import service as customers
from lingxi.customers.models import Customer
from lingxi.notifications import service as notifications
from lingxi.settings import get_settings
from lingxi.tickets import clock, dispatch, slaops
from lingxi.tickets.categories import BY_ID, product_of
from lingxi.tickets.constants import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    PRIORITIES,
    PRIORITY_RANK,
    SOURCES,
    STAFF_ACTIONS,
    STATUS_LABELS,
    TRANSITIONS,
    TYPES,
    UNFINISHED_STATUSES,
)
from lingxi.tickets.fields import prefill_fields, validate_fields
from lingxi.tickets.knowledge import KnowledgeCheck, KnowledgeSuggestion, get_knowledge_check
from lingxi.tickets.models import HotIssue, Ticket, TicketAttachment, TicketEvent, TicketTeam
from lingxi.tickets.progress import customer_view, notice_text
from lingxi.tickets.similarity import dice, features
from lingxi.tickets.storage import check_upload, get_attachment_store
from lingxi.tickets.timeline import add_event

__all__ = [
    "check_before_create",
    "customer_view",
    "do_create_ticket",
    "get_timeline",
    "list_customer_tickets",
]

TICKET_CREATED = "ticket.created"
TICKET_CHANGED = "ticket.changed"
TICKET_ESCALATED = "ticket.escalated"
HOT_ISSUE_RAISED = "ticket.hot_issue"

CHANNELS = ("webchat", "app", "wechat", "sms", "ivr", "webhook", "phone", "branch", "email")
SYSTEM = Actor.system("tickets")
MAX_DESCRIPTION = 4000


# --- scope and access -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffScope:
    """What a staff member may see: their branch's orders (None = head office: every order)."""

    staff_id: int
    branch_code: str | None

    @classmethod
    def of(cls, user: StaffUser) -> StaffScope:
        return cls(staff_id=user.id, branch_code=user.branch_code)


def check_in_scope(ticket: Ticket, scope: StaffScope | None) -> None:
    if scope is not None and scope.branch_code is not None and ticket.branch_code != scope.branch_code:
        raise NotFound(f"No work order {ticket.id}.", code="ticket_not_found")


async def get_ticket(*, session: AsyncSession, ticket_id: int) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def get_ticket_by_no(*, session: AsyncSession, ticket_no: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no.strip().upper()))


async def access_ticket(*, session: AsyncSession, ticket_id: int, scope: StaffScope | None) -> Ticket:
    """The order if the caller may see it; 404 for unknown ids and for orders outside their branch."""
    ticket = await get_ticket(session=session, ticket_id=ticket_id)
    if ticket is None:
        raise NotFound(f"No work order {ticket_id}.", code="ticket_not_found")
    check_in_scope(ticket, scope)
    return ticket


async def access_customer_ticket(*, session: AsyncSession, customer_id: int, ticket_no: str) -> Ticket:
    """The customer's own order by number; any other order (or a sub-task) answers 404."""
    ticket = await get_ticket_by_no(session=session, ticket_no=ticket_no)
    if ticket is None or ticket.customer_id != customer_id or ticket.parent_id is not None:
        raise NotFound(
            "No such work order.", code="ticket_not_found", details={"message_zh": "未找到该工单。"}
        )
    return ticket


# --- reading --------------------------------------------------------------------------------------


async def list_customer_tickets(
    *, session: AsyncSession, customer_id: int, open_only: bool = False
) -> list[Ticket]:
    """The customer's orders, newest first (no sub-tasks). `open_only`: not closed or cancelled."""
    stmt = (
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.parent_id.is_(None))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(200)
    )
    if open_only:
        stmt = stmt.where(Ticket.status.in_(UNFINISHED_STATUSES))
    return list((await session.scalars(stmt)).all())


async def get_timeline(
    *, session: AsyncSession, ticket: Ticket, customer_only: bool = False, include_merged: bool = True
) -> list[TicketEvent]:
    """The order's events in time order, with the events of orders merged into it (both timelines
    are kept). `customer_only` keeps the customer-visible steps."""
    ids = [ticket.id]
    if include_merged:
        ids += list(
            (await session.scalars(select(Ticket.id).where(Ticket.merged_into_id == ticket.id))).all()
        )
    stmt = select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.at, TicketEvent.id)
    if customer_only:
        stmt = stmt.where(TicketEvent.visibility == "customer")
    return list((await session.scalars(stmt)).all())


async def ticket_numbers(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Ticket.id, Ticket.ticket_no).where(Ticket.id.in_(list(set(ids)))))
    return {row.id: row.ticket_no for row in rows}


async def list_attachments(*, session: AsyncSession, ticket_id: int) -> list[TicketAttachment]:
    stmt = (
        select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id).order_by(TicketAttachment.id)
    )
    return list((await session.scalars(stmt)).all())


async def list_subtasks(*, session: AsyncSession, parent_id: int) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.parent_id == parent_id).order_by(Ticket.id)
    return list((await session.scalars(stmt)).all())


@dataclass(slots=True)
class TicketFilters:
    status: Sequence[str] = ()
    team_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    type: str | None = None
    category: str | None = None
    priority: str | None = None
    customer_id: int | None = None
    breached: bool | None = None
    q: str | None = None
    due_before: datetime | None = None


async def list_tickets(
    *,
    session: AsyncSession,
    scope: StaffScope | None,
    filters: TicketFilters,
    sort: Literal["due", "newest"] = "newest",
    before_id: int | None = None,
    limit: int = 50,
) -> list[Ticket]:
    """Queues and searches for the console. `sort="due"`: soonest deadline first (no deadline last)."""
    stmt = select(Ticket)
    if scope is not None and scope.branch_code is not None:
        stmt = stmt.where(Ticket.branch_code == scope.branch_code)
    f = filters
    if f.status:
        stmt = stmt.where(Ticket.status.in_(list(f.status)))
    if f.team_id is not None:
        stmt = stmt.where(Ticket.team_id == f.team_id)
    if f.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    if f.unassigned:
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    if f.type:
        stmt = stmt.where(Ticket.type == f.type)
    if f.category:
        stmt = stmt.where(Ticket.category == f.category)
    if f.priority:
        stmt = stmt.where(Ticket.priority == f.priority)
    if f.customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == f.customer_id)
    if f.breached is True:
        stmt = stmt.where(Ticket.breached_at.is_not(None))
    elif f.breached is False:
        stmt = stmt.where(Ticket.breached_at.is_(None))
    if f.due_before is not None:
        stmt = stmt.where(Ticket.due_at <= f.due_before)
    if f.q:
        q = f.q.strip()
        if q.upper().startswith("GD"):
            stmt = stmt.where(Ticket.ticket_no.startswith(q.upper(), autoescape=True))
        else:
            stmt = stmt.where(Ticket.title.icontains(q, autoescape=True))
    if before_id is not None:
        stmt = stmt.where(Ticket.id < before_id)
    if sort == "due":
        stmt = stmt.order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id.desc())
    else:
        stmt = stmt.order_by(Ticket.id.desc())
    return list((await session.scalars(stmt.limit(max(1, min(limit, 200))))).all())


async def count_queues(
    *, session: AsyncSession, scope: StaffScope | None
) -> list[tuple[int | None, str, int, int]]:
    """(team id, status, orders, of which breached) for the unfinished orders in scope."""
    stmt = (
        select(
            Ticket.team_id,
            Ticket.status,
            func.count(),
            func.count(Ticket.breached_at),
        )
        .where(Ticket.status.in_(UNFINISHED_STATUSES))
        .group_by(Ticket.team_id, Ticket.status)
    )
    if scope is not None and scope.branch_code is not None:
        stmt = stmt.where(Ticket.branch_code == scope.branch_code)
    return [(row[0], row[1], int(row[2]), int(row[3])) for row in (await session.execute(stmt)).all()]


# --- helpers --------------------------------------------------------------------------------------


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """What the audit log keeps of an order (no free text: it may hold personal data)."""
    return {
        "ticket_no": ticket.ticket_no,
        "status": ticket.status,
        "type": ticket.type,
        "category": ticket.category,
        "priority": ticket.priority,
        "team_id": ticket.team_id,
        "assignee_id": ticket.assignee_id,
        "customer_id": ticket.customer_id,
    }


def _audit(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    do_record(
        session=session,
        actor=actor,
        action=f"ticket.{action}",
        subject_type="ticket",
        subject_id=ticket.id,
        before=before,
        after=after,
        reason=(reason or None) and reason[:300],
    )


def _changed(session: AsyncSession, ticket: Ticket, action: str, actor: Actor) -> None:
    ticket.updated_at = clock.now()
    emit(
        session,
        TICKET_CHANGED,
        {
            "ticket_id": ticket.id,
            "ticket_no": ticket.ticket_no,
            "action": action,
            "status": ticket.status,
            "actor_type": actor.type,
        },
    )


async def _notify_customer(session: AsyncSession, ticket: Ticket, event: TicketEvent, actor: Actor) -> None:
    """Push a customer-visible change on the customer's channel (not their own actions, not sub-tasks)."""
    if event.visibility != "customer" or actor.type == "customer" or ticket.parent_id is not None:
        return
    await notifications.do_notify_customer(
        session=session,
        customer_id=ticket.customer_id,
        topic=f"ticket.{event.kind}",
        text=notice_text(ticket, event),
        channel_hint=ticket.channel,
        subject_type="ticket",
        subject_id=ticket.ticket_no,
        urgent=ticket.type == "fraud",
        meta={"ticket_no": ticket.ticket_no, "event_id": event.id},
        now=clock.now(),
    )


async def _notify_staff(
    session: AsyncSession, staff_ids: Sequence[int], ticket: Ticket, topic: str, text: str
) -> None:
    await notifications.do_notify_staff(
        session=session,
        staff_ids=staff_ids,
        topic=topic,
        text=f"{ticket.ticket_no} {text}",
        subject_type="ticket",
        subject_id=ticket.id,
        meta={"ticket_no": ticket.ticket_no, "ticket_id": ticket.id},
    )


async def _handlers_of(session: AsyncSession, ticket: Ticket) -> list[int]:
    """Who looks after the order now: the assignee, else the team's members, else its lead."""
    if ticket.assignee_id is not None:
        return [ticket.assignee_id]
    return await dispatch.escalation_targets(session=session, ticket=ticket, level=1)


def _number(ticket: Ticket) -> str:
    local = ticket.created_at.astimezone(ZoneInfo(get_settings().bank_timezone))
    return f"GD{local:%Y%m%d}{ticket.id:06d}"


def default_priority(ticket_type: str, tier: str | None) -> str:
    base = {"fraud": "urgent", "complaint": "high"}.get(ticket_type, "normal")
    if tier in ("vip", "private") and base == "normal":
        return "high"
    return base


def _check_text(title: str, description: str) -> tuple[str, str]:
    title = (title or "").strip()
    description = (description or "").strip()
    if not 2 <= len(title) <= 200:
        raise ValidationFailed(
            "A work order needs a title of 2 to 200 characters.",
            code="bad_title",
            details=[{"field": "title", "problem": "2 to 200 characters"}],
        )
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(
            f"The description may be at most {MAX_DESCRIPTION} characters.",
            code="description_too_long",
            details=[{"field": "description", "problem": f"at most {MAX_DESCRIPTION} characters"}],
        )
    return title, description


def _check_choice(name: str, value: str | None, allowed: Sequence[str], *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if value not in allowed:
        raise ValidationFailed(
            f"Unknown {name} '{value}'; use one of {', '.join(allowed)}.",
            code=f"bad_{name}",
            details=[{"field": name, "problem": f"one of {', '.join(allowed)}"}],
        )


# --- creation -------------------------------------------------------------------------------------


def check_ticket_input(
    *, type: str, category: str, title: str, description: str, fields: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """Validate what a new order says (422 with every problem); returns the cleaned title,
    description and fields. Routes call it before the duplicate guard."""
    _check_choice("type", type, TYPES)
    if category not in BY_ID:
        raise ValidationFailed(
            f"Unknown category '{category}': use an intent id of the bank's taxonomy or 'other'.",
            code="bad_category",
            details=[{"field": "category", "problem": "unknown intent id"}],
        )
    title, description = _check_text(title, description)
    return title, description, validate_fields(type, fields)


async def do_create_ticket(
    *,
    session: AsyncSession,
    customer_id: int,
    type: str,
    category: str,
    title: str,
    description: str,
    fields: dict[str, Any],
    source: str,
    channel: str | None,
    conversation_id: int | None,
    actor: Actor,
    priority: str | None = None,
    team_id: int | None = None,
    parent: Ticket | None = None,
) -> Ticket:
    """Create a work order, dispatch it to a team by the rules (or to `team_id`), start its SLA clock.

    `source`: staff | conversation | customer | bot | automation | subtask. `conversation_id` is the
    internal id of the conversation it came from, which must be the same customer's. Does not run
    the duplicate guard: call `check_before_create` first and offer what it finds.
    """
    _check_choice("source", source, SOURCES)
    _check_choice("channel", channel, CHANNELS, optional=True)
    _check_choice("priority", priority, PRIORITIES, optional=True)
    title, description, cleaned = check_ticket_input(
        type=type, category=category, title=title, description=description, fields=fields
    )
    customer = await customers.get_customer(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.", code="customer_not_found")
    if conversation_id is not None:
        conversation = await conversations.get_conversation(session=session, conversation_id=conversation_id)
        if conversation is None or conversation.customer_id != customer.id:
            raise ValidationFailed(
                "The conversation does not belong to this customer.", code="conversation_mismatch"
            )
        channel = channel or conversation.channel
    now = clock.now()
    ticket = Ticket(
        ticket_no=f"TMP{uuid.uuid4().hex[:20]}",
        type=type,
        category=category,
        product=product_of(category),
        priority=priority or default_priority(type, customer.tier),
        status="new",
        title=title,
        description=description,
        fields=cleaned,
        language="en" if customer.language.startswith("en") else "zh-CN",
        customer_id=customer.id,
        region=customer.region,
        source=source,
        channel=channel,
        conversation_id=conversation_id,
        created_by_type=actor.type,
        created_by_id=str(actor.id)[:64],
        parent_id=parent.id if parent is not None else None,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    ticket.ticket_no = _number(ticket)
    created = add_event(
        session,
        ticket,
        actor=actor,
        kind="created",
        to_status="new",
        visibility="internal" if parent is not None else "customer",
        data={"source": source, "channel": channel},
    )
    await _dispatch(session, ticket, customer, actor, team_id=team_id)
    await slaops.do_start_clock(session=session, ticket=ticket, tier=customer.tier, now=now)
    await session.flush()
    _audit(session, ticket, actor, "create", after={**snapshot(ticket), "source": source, "channel": channel})
    emit(
        session,
        TICKET_CREATED,
        {"ticket_id": ticket.id, "customer_id": customer.id, "category": category, "type": type},
    )
    if source == "staff":  # the customer was not in a chat when it was opened: tell them
        await _notify_customer(session, ticket, created, actor)
    return ticket


async def _dispatch(
    session: AsyncSession, ticket: Ticket, customer: Customer, actor: Actor, *, team_id: int | None
) -> None:
    if team_id is not None:
        team = await dispatch.get_team(session=session, team_id=team_id)
        if team is None or not team.active:
            raise ValidationFailed(f"No active team {team_id}.", code="team_not_found")
        rule_name = None
    else:
        team, rule = await dispatch.choose_team(
            session=session,
            order=dispatch.DispatchInput(
                type=ticket.type,
                category=ticket.category,
                product=ticket.product,
                region=customer.region,
                customer_branch=customer.branch_code,
            ),
        )
        rule_name = rule.name if rule is not None else None
    if team is None:
        add_event(
            session, ticket, actor=SYSTEM, kind="dispatch_failed", note="没有匹配的分派规则，待人工分派"
        )
        return
    ticket.team_id = team.id
    ticket.branch_code = team.branch_code
    note = f"按规则「{rule_name}」分派至{team.name_zh}" if rule_name else f"指定分派至{team.name_zh}"
    add_event(
        session,
        ticket,
        actor=SYSTEM if rule_name else actor,
        kind="dispatched",
        note=note,
        data={"team_id": team.id, "rule": rule_name},
    )


# --- the state machine ----------------------------------------------------------------------------


def allowed_actions(ticket: Ticket) -> list[str]:
    """What staff may do with the order now (the console shows these buttons)."""
    return [action for action in STAFF_ACTIONS if ticket.status in TRANSITIONS[action][0]]


def check_transition(ticket: Ticket, action: str) -> str:
    """The status `action` leads to; 409 `invalid_transition` when the order's status does not allow it."""
    if action not in TRANSITIONS:
        raise ValidationFailed(f"Unknown action '{action}'.", code="bad_action")
    froms, to = TRANSITIONS[action]
    if ticket.status not in froms:
        allowed = allowed_actions(ticket)
        raise Conflict(
            f"Work order {ticket.ticket_no} is '{ticket.status}': it cannot be {action.replace('_', ' ')}"
            f" now (possible: {', '.join(allowed) or 'nothing, it is finished'}).",
            code="invalid_transition",
            details={
                "status": ticket.status,
                "action": action,
                "allowed": allowed,
                "message_zh": f"工单当前状态为「{STATUS_LABELS[ticket.status][0]}」，不能执行该操作。",
            },
        )
    return to


async def _transition(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    actor: Actor,
    *,
    kind: str,
    note: str = "",
    visibility: str = "internal",
    data: dict[str, Any] | None = None,
    reason: str | None = None,
) -> TicketEvent:
    to_status = check_transition(ticket, action)
    before = snapshot(ticket)
    from_status = ticket.status
    ticket.status = to_status
    event = add_event(
        session,
        ticket,
        actor=actor,
        kind=kind,
        note=note,
        visibility=visibility if ticket.parent_id is None else "internal",
        from_status=from_status,
        to_status=to_status,
        data=data,
    )
    if event.visibility == "customer" and actor.type == "staff":
        slaops.record_first_response(ticket, clock.now())
    _changed(session, ticket, action, actor)
    await session.flush()
    _audit(
        session, ticket, actor, action, before=before, after=snapshot(ticket), reason=reason or note or None
    )
    await _notify_customer(session, ticket, event, actor)
    return event


async def check_assignable(*, session: AsyncSession, ticket: Ticket, assignee: StaffUser) -> None:
    if not assignee.is_active or not role_has(assignee.role, Perm.TICKET_HANDLE):
        raise ValidationFailed(
            f"{assignee.display_name} cannot handle work orders.", code="assignee_not_allowed"
        )
    if assignee.branch_code is not None and assignee.branch_code != ticket.branch_code:
        raise ValidationFailed(
            f"{assignee.display_name} works for branch {assignee.branch_code} and cannot see this order.",
            code="assignee_out_of_scope",
        )


async def do_assign(
    *, session: AsyncSession, ticket: Ticket, assignee: StaffUser, actor: Actor, note: str = ""
) -> Ticket:
    check_transition(ticket, "assign")
    await check_assignable(session=session, ticket=ticket, assignee=assignee)
    previous = ticket.assignee_id
    ticket.assignee_id = assignee.id
    ticket.assigned_at = clock.now()
    await _transition(
        session,
        ticket,
        "assign",
        actor,
        kind="assigned",
        note=note or f"分派给{assignee.display_name}",
        data={"assignee_id": assignee.id, "previous_assignee_id": previous},
    )
    if actor.type != "staff" or actor.id != str(assignee.id):
        await _notify_staff(session, [assignee.id], ticket, "ticket.assigned", f"已分派给您：{ticket.title}")
    return ticket


async def do_start(*, session: AsyncSession, ticket: Ticket, actor: Actor) -> Ticket:
    check_transition(ticket, "start")
    if ticket.assignee_id is None:
        raise Conflict("Assign the order to someone before starting it.", code="not_assigned")
    await _transition(session, ticket, "start", actor, kind="started", visibility="customer")
    return ticket


async def do_request_info(*, session: AsyncSession, ticket: Ticket, note: str, actor: Actor) -> Ticket:
    """Ask the customer for something; the SLA clock pauses until they answer (or staff resume)."""
    if len(note.strip()) < 2:
        raise ValidationFailed("Say what the customer should provide.", code="note_required")
    await _transition(
        session,
        ticket,
        "request_info",
        actor,
        kind="info_requested",
        note=note.strip(),
        visibility="customer",
    )
    slaops.do_pause(ticket, clock.now())
    return ticket


async def do_resume(*, session: AsyncSession, ticket: Ticket, actor: Actor, note: str = "") -> Ticket:
    await _transition(session, ticket, "resume", actor, kind="resumed", note=note, visibility="customer")
    await slaops.do_resume(session=session, ticket=ticket, now=clock.now())
    return ticket


async def do_resolve(*, session: AsyncSession, ticket: Ticket, resolution: str, actor: Actor) -> Ticket:
    if ticket.open_subtasks > 0:
        raise Conflict(
            f"{ticket.open_subtasks} sub-task(s) are still open; the order waits for them.",
            code="subtasks_open",
            details={"open_subtasks": ticket.open_subtasks, "message_zh": "仍有未完成的子任务。"},
        )
    check_transition(ticket, "resolve")
    resolution = resolution.strip()
    if len(resolution) < 2:
        raise ValidationFailed("Describe the resolution for the customer.", code="resolution_required")
    now = clock.now()
    ticket.resolution = resolution
    ticket.resolved_at = now
    await _transition(
        session, ticket, "resolve", actor, kind="resolved", note=resolution, visibility="customer"
    )
    slaops.record_resolved(ticket, now)
    if ticket.parent_id is not None:  # a sub-task needs no customer confirmation
        await do_close(session=session, ticket=ticket, actor=SYSTEM)
    return ticket


async def do_auto_resolve(
    *, session: AsyncSession, ticket: Ticket, note_zh: str, note_en: str, actor: Actor, data: dict[str, Any]
) -> Ticket:
    """An automation rule did what the order asked for: resolved without a person, the customer
    confirms (or reopens) as with any resolution."""
    check_transition(ticket, "auto_resolve")
    now = clock.now()
    ticket.resolution = note_zh
    ticket.resolved_at = now
    await _transition(
        session,
        ticket,
        "auto_resolve",
        actor,
        kind="automation",
        note=note_zh,
        visibility="customer",
        data={**data, "note_en": note_en},
    )
    slaops.record_first_response(ticket, now)
    slaops.record_resolved(ticket, now)
    return ticket


async def do_close(*, session: AsyncSession, ticket: Ticket, actor: Actor, auto: bool = False) -> Ticket:
    check_transition(ticket, "close")
    ticket.closed_at = clock.now()
    await _transition(
        session, ticket, "close", actor, kind="auto_closed" if auto else "closed", visibility="customer"
    )
    slaops.record_finished(ticket)
    await _subtask_finished(session, ticket)
    return ticket


async def do_reopen(*, session: AsyncSession, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    """A resolved order, or a closed one within the reopening period, goes back to work with a new
    resolution deadline. Merged orders are followed on the order they were merged into."""
    if ticket.merged_into_id is not None:
        raise Conflict("This order was merged into another; follow that one.", code="ticket_merged")
    if ticket.status == "closed":
        window = timedelta(days=get_settings().ticket_reopen_days)
        if ticket.closed_at is None or clock.now() - ticket.closed_at > window:
            raise Conflict(
                f"Orders can be reopened within {window.days} days of closing; please open a new one.",
                code="reopen_window_passed",
                details={"message_zh": f"工单完结已超过 {window.days} 天，无法重新打开，请新建工单。"},
            )
    check_transition(ticket, "reopen")
    ticket.reopen_count += 1
    ticket.closed_at = ticket.auto_close_at = None
    await _transition(
        session,
        ticket,
        "reopen",
        actor,
        kind="reopened",
        note=reason.strip(),
        visibility="customer",
        reason=reason,
    )
    customer = await customers.get_customer(session=session, customer_id=ticket.customer_id)
    await slaops.do_start_clock(
        session=session, ticket=ticket, tier=customer.tier if customer else None, now=clock.now()
    )
    await _notify_staff(
        session, await _handlers_of(session, ticket), ticket, "ticket.reopened", "工单被重新打开"
    )
    return ticket


async def do_cancel(*, session: AsyncSession, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    check_transition(ticket, "cancel")
    for child in await list_subtasks(session=session, parent_id=ticket.id):
        if child.status not in FINAL_STATUSES and child.status != "resolved":
            await do_cancel(session=session, ticket=child, actor=SYSTEM, reason="主工单已撤销")
    await _transition(
        session,
        ticket,
        "cancel",
        actor,
        kind="cancelled",
        note=reason.strip(),
        visibility="customer",
        reason=reason,
    )
    slaops.record_finished(ticket)
    await _subtask_finished(session, ticket)
    if actor.type == "customer" and ticket.assignee_id is not None:
        await _notify_staff(session, [ticket.assignee_id], ticket, "ticket.cancelled", "客户已撤销工单")
    return ticket


async def do_transfer(
    *, session: AsyncSession, ticket: Ticket, team: TicketTeam, reason: str, actor: Actor
) -> Ticket:
    """Hand the order to another team with a reason; it waits there unassigned (status new)."""
    reason = reason.strip()
    if len(reason) < 2:
        raise ValidationFailed("Give a reason for the transfer.", code="reason_required")
    if not team.active:
        raise ValidationFailed(f"Team {team.code} is not active.", code="team_not_found")
    check_transition(ticket, "transfer")
    if team.id == ticket.team_id:
        raise Conflict("The order is already with this team.", code="same_team")
    previous = ticket.team_id
    ticket.team_id = team.id
    ticket.branch_code = team.branch_code
    ticket.assignee_id = None
    await _transition(
        session,
        ticket,
        "transfer",
        actor,
        kind="transferred",
        note=f"转交{team.name_zh}：{reason}",
        data={"from_team_id": previous, "to_team_id": team.id},
        reason=reason,
    )
    await _notify_staff(
        session,
        await _handlers_of(session, ticket),
        ticket,
        "ticket.transferred",
        f"已转交至{team.name_zh}：{reason}",
    )
    return ticket


async def do_set_priority(
    *, session: AsyncSession, ticket: Ticket, priority: str, reason: str, actor: Actor
) -> Ticket:
    _check_choice("priority", priority, PRIORITIES)
    if ticket.status in FINAL_STATUSES:
        raise Conflict("A finished order's priority cannot change.", code="ticket_finished")
    if priority == ticket.priority:
        return ticket
    before = ticket.priority
    ticket.priority = priority
    add_event(
        session, ticket, actor=actor, kind="priority", note=reason, data={"from": before, "to": priority}
    )
    _changed(session, ticket, "priority", actor)
    await session.flush()
    _audit(
        session,
        ticket,
        actor,
        "priority",
        before={"priority": before},
        after={"priority": priority},
        reason=reason,
    )
    return ticket


async def do_add_comment(
    *, session: AsyncSession, ticket: Ticket, text: str, visibility: str, actor: Actor
) -> TicketEvent:
    """A note on the timeline: internal, or a message to the customer (pushed, counts as a response)."""
    _check_choice("visibility", visibility, ("internal", "customer"))
    text = text.strip()
    if not text:
        raise ValidationFailed("The comment is empty.", code="empty_comment")
    if ticket.status in FINAL_STATUSES and visibility == "customer":
        raise Conflict(
            "The order is finished; the customer is no longer following it.", code="ticket_finished"
        )
    if ticket.parent_id is not None:
        visibility = "internal"
    event = add_event(
        session,
        ticket,
        actor=actor,
        kind="comment" if visibility == "customer" else "note",
        note=text,
        visibility=visibility,
    )
    if visibility == "customer" and actor.type == "staff":
        slaops.record_first_response(ticket, clock.now())
    _changed(session, ticket, "comment", actor)
    await session.flush()
    _audit(session, ticket, actor, "comment", after={"visibility": visibility, "length": len(text)})
    await _notify_customer(session, ticket, event, actor)
    return event


# --- sub-tasks and merging ------------------------------------------------------------------------


async def do_create_subtask(
    *, session: AsyncSession, parent: Ticket, team: TicketTeam, title: str, description: str, actor: Actor
) -> Ticket:
    """Ask another department for something; the parent cannot be resolved until its sub-tasks are."""
    if parent.parent_id is not None:
        raise Conflict("A sub-task cannot have sub-tasks of its own.", code="nested_subtask")
    if parent.status not in ("assigned", "in_progress", "reopened"):
        raise Conflict(
            "Sub-tasks can be opened while the order is being handled.",
            code="invalid_transition",
            details={"status": parent.status, "action": "subtask", "allowed": allowed_actions(parent)},
        )
    child = await do_create_ticket(
        session=session,
        customer_id=parent.customer_id,
        type=parent.type,
        category=parent.category,
        title=title,
        description=description,
        fields=dict(parent.fields),
        source="subtask",
        channel=parent.channel,
        conversation_id=parent.conversation_id,
        actor=actor,
        priority=parent.priority,
        team_id=team.id,
        parent=parent,
    )
    parent.open_subtasks += 1
    add_event(
        session,
        parent,
        actor=actor,
        kind="subtask",
        note=f"子任务 {child.ticket_no} 已发往{team.name_zh}",
        visibility="customer",
        data={"subtask_id": child.id, "team_id": team.id},
    )
    _changed(session, parent, "subtask", actor)
    await session.flush()
    _audit(session, parent, actor, "subtask", after={"subtask_no": child.ticket_no, "team_id": team.id})
    return child


async def _subtask_finished(session: AsyncSession, ticket: Ticket) -> None:
    if ticket.parent_id is None:
        return
    parent = await session.get(Ticket, ticket.parent_id)
    if parent is None:
        return
    parent.open_subtasks = max(0, parent.open_subtasks - 1)
    add_event(
        session,
        parent,
        actor=SYSTEM,
        kind="subtask_done",
        note=f"子任务 {ticket.ticket_no} 已{'完成' if ticket.status == 'closed' else '撤销'}",
        data={"subtask_id": ticket.id, "status": ticket.status},
    )
    _changed(session, parent, "subtask_done", SYSTEM)
    await session.flush()
    if parent.open_subtasks == 0 and parent.status not in FINAL_STATUSES:
        await _notify_staff(
            session, await _handlers_of(session, parent), parent, "ticket.subtasks_done", "子任务已全部完成"
        )


async def do_merge(
    *, session: AsyncSession, source: Ticket, target: Ticket, actor: Actor, reason: str = ""
) -> Ticket:
    """Close `source` into `target` (same customer, both unfinished). Both timelines are kept: the
    target's timeline shows the source's steps too, and the customer follows the target."""
    if source.id == target.id:
        raise ValidationFailed("An order cannot be merged into itself.", code="merge_self")
    if source.customer_id != target.customer_id:
        raise Conflict("Only orders of the same customer can be merged.", code="merge_other_customer")
    if source.parent_id is not None or target.parent_id is not None:
        raise Conflict("Sub-tasks cannot be merged.", code="merge_subtask")
    if source.open_subtasks:
        raise Conflict("Close this order's sub-tasks before merging it.", code="subtasks_open")
    if target.status in FINAL_STATUSES:
        raise Conflict(
            f"{target.ticket_no} is finished; merge into an open order.", code="merge_target_finished"
        )
    check_transition(source, "merge")
    source.merged_into_id = target.id
    source.closed_at = clock.now()
    await _transition(
        session,
        source,
        "merge",
        actor,
        kind="merged",
        visibility="customer",
        note=reason,
        data={"other_no": target.ticket_no, "target_id": target.id},
        reason=reason,
    )
    slaops.record_finished(source)
    add_event(
        session,
        target,
        actor=actor,
        kind="merged_from",
        visibility="customer",
        note=reason,
        data={"other_no": source.ticket_no, "source_id": source.id},
    )
    _changed(session, target, "merged_from", actor)
    await session.flush()
    _audit(
        session,
        target,
        actor,
        "merge",
        after={"merged": source.ticket_no, "into": target.ticket_no},
        reason=reason,
    )
    return target


# --- attachments ----------------------------------------------------------------------------------


async def do_add_attachment(
    *, session: AsyncSession, ticket: Ticket, filename: str, data: bytes, visibility: str, actor: Actor
) -> TicketAttachment:
    """Store a file through the storage port (type from its bytes, size limited) and record it.

    The file is written before the row: a rolled-back transaction can leave an unreferenced file
    behind, never a row without its file."""
    _check_choice("visibility", visibility, ("internal", "customer"))
    if ticket.status in FINAL_STATUSES:
        raise Conflict("The order is finished; attachments can no longer be added.", code="ticket_finished")
    settings = get_settings()
    count = await session.scalar(
        select(func.count()).select_from(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
    )
    if int(count or 0) >= settings.ticket_attachments_per_order:
        raise Conflict(
            f"An order can have at most {settings.ticket_attachments_per_order} attachments.",
            code="too_many_attachments",
        )
    content_type, digest = check_upload(data)
    name = (filename or "attachment").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "attachment"
    key = f"tickets/{ticket.id}/{uuid.uuid4().hex}"
    await get_attachment_store().put(key, data)
    attachment = TicketAttachment(
        ticket_id=ticket.id,
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        storage_key=key,
        visibility=visibility if ticket.parent_id is None else "internal",
        uploaded_by_type=actor.type,
        uploaded_by_id=str(actor.id)[:64],
        created_at=clock.now(),
    )
    session.add(attachment)
    await session.flush()
    add_event(
        session,
        ticket,
        actor=actor,
        kind="attachment",
        note=name,
        visibility=attachment.visibility,
        data={"attachment_id": attachment.id},
    )
    _changed(session, ticket, "attachment", actor)
    _audit(
        session,
        ticket,
        actor,
        "attach",
        after={"attachment_id": attachment.id, "type": content_type, "size": len(data)},
    )
    if actor.type == "customer":
        await _notify_staff(
            session,
            await _handlers_of(session, ticket),
            ticket,
            "ticket.customer_attachment",
            "客户上传了附件",
        )
    return attachment


async def access_attachment(
    *, session: AsyncSession, ticket: Ticket, attachment_id: int, customer: bool
) -> TicketAttachment:
    attachment = await session.get(TicketAttachment, attachment_id)
    if (
        attachment is None
        or attachment.ticket_id != ticket.id
        or (customer and attachment.visibility != "customer")
    ):
        raise NotFound("No such attachment.", code="attachment_not_found")
    return attachment


async def read_attachment(*, attachment: TicketAttachment) -> bytes:
    return await get_attachment_store().get(attachment.storage_key)


# --- customer self-service ------------------------------------------------------------------------


def customer_actor(customer: Customer, ip: str | None = None) -> Actor:
    return Actor(type="customer", id=str(customer.id), name=customers.display_name(customer), ip=ip)


async def do_customer_add_info(
    *, session: AsyncSession, ticket: Ticket, text: str, actor: Actor
) -> TicketEvent:
    """The customer adds information; an order waiting for them goes back to work."""
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(
            "The order is no longer being handled; reopen it or open a new one.",
            code="ticket_not_open",
            details={"status": ticket.status, "message_zh": "工单已处理完毕，如有疑问请重新打开或新建工单。"},
        )
    text = text.strip()
    if not text:
        raise ValidationFailed("The information is empty.", code="empty_comment")
    event = add_event(session, ticket, actor=actor, kind="customer_info", note=text, visibility="customer")
    _changed(session, ticket, "customer_info", actor)
    await session.flush()
    _audit(session, ticket, actor, "customer_info", after={"length": len(text)})
    if ticket.status == "pending_customer":
        await do_resume(session=session, ticket=ticket, actor=actor)
    await _notify_staff(
        session, await _handlers_of(session, ticket), ticket, "ticket.customer_info", "客户补充了信息"
    )
    return event


async def do_urge(*, session: AsyncSession, ticket: Ticket, actor: Actor) -> Ticket:
    """催办: at most once per interval and a few times a day; reminds the handler, and a repeated urge
    raises the priority one step."""
    settings = get_settings()
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(
            "Only orders still being handled can be urged.",
            code="ticket_not_open",
            details={"status": ticket.status, "message_zh": "工单已处理完毕，无需催办。"},
        )
    now = clock.now()
    interval = timedelta(minutes=settings.ticket_urge_interval_minutes)
    if ticket.last_urged_at is not None and now - ticket.last_urged_at < interval:
        wait = int((ticket.last_urged_at + interval - now).total_seconds()) + 1
        raise RateLimited(
            f"You urged this order recently; you can urge again in {wait // 60 + 1} minutes.",
            retry_after=wait,
            code="urge_too_soon",
        )
    since = now - timedelta(days=1)
    today = await session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "urged", TicketEvent.at >= since)
    )
    if int(today or 0) >= settings.ticket_urge_daily_limit:
        raise RateLimited(
            "This order was urged the most times allowed today; it is already marked for priority handling.",
            retry_after=int(timedelta(hours=24).total_seconds()),
            code="urge_daily_limit",
        )
    ticket.urge_count += 1
    ticket.last_urged_at = now
    add_event(
        session, ticket, actor=actor, kind="urged", visibility="customer", data={"count": ticket.urge_count}
    )
    if ticket.urge_count >= 2 and PRIORITY_RANK[ticket.priority] < PRIORITY_RANK["urgent"]:
        raised = PRIORITIES[PRIORITY_RANK[ticket.priority] + 1]
        add_event(
            session,
            ticket,
            actor=SYSTEM,
            kind="priority",
            note="客户多次催办，优先级提升",
            data={"from": ticket.priority, "to": raised},
        )
        ticket.priority = raised
    _changed(session, ticket, "urge", actor)
    await session.flush()
    _audit(
        session, ticket, actor, "urge", after={"urge_count": ticket.urge_count, "priority": ticket.priority}
    )
    await _notify_staff(
        session,
        await _handlers_of(session, ticket),
        ticket,
        "ticket.urged",
        f"客户催办（第 {ticket.urge_count} 次），请优先处理",
    )
    return ticket


async def do_rate(*, session: AsyncSession, ticket: Ticket, score: int, comment: str, actor: Actor) -> Ticket:
    if ticket.status not in ("resolved", "closed") or ticket.merged_into_id is not None:
        raise Conflict("Orders can be rated once they are handled.", code="not_rateable")
    if ticket.rating is not None:
        raise Conflict("This order has already been rated.", code="already_rated")
    if not 1 <= score <= 5:
        raise ValidationFailed("The rating is 1 to 5.", code="bad_rating")
    ticket.rating = score
    ticket.rating_comment = comment.strip()[:500] or None
    ticket.rated_at = clock.now()
    add_event(session, ticket, actor=actor, kind="rated", visibility="customer", data={"score": score})
    _changed(session, ticket, "rate", actor)
    await session.flush()
    _audit(session, ticket, actor, "rate", after={"score": score})
    if score <= 2 and ticket.assignee_id is not None:
        await _notify_staff(
            session,
            [*await dispatch.escalation_targets(session=session, ticket=ticket, level=2), ticket.assignee_id],
            ticket,
            "ticket.low_rating",
            f"客户评价 {score} 星，请回访",
        )
    return ticket


# --- creation from a conversation -----------------------------------------------------------------

_TYPE_OF_CATEGORY = {
    "fraud_report": "fraud",
    "complaint": "complaint",
    "login_problem": "technical",
    "verification_code_not_received": "technical",
    "atm_issue": "technical",
}


def type_for_category(category: str) -> str:
    if category in _TYPE_OF_CATEGORY:
        return _TYPE_OF_CATEGORY[category]
    entry = BY_ID.get(category)
    return "request" if entry is not None and entry.kind == "task" else "inquiry"


async def build_draft(*, session: AsyncSession, conversation_public_id: str) -> dict[str, Any]:
    """A new order prefilled from a conversation: intent → category and type, slots → fields, the
    customer's first words → title, the transcript (masked) → description."""
    conversation = await conversations.access_conversation_by_public_id(
        session=session, public_id=conversation_public_id
    )
    if conversation.customer_id is None:
        raise ValidationFailed(
            "The chat's customer is not identified; verify the customer before opening an order.",
            code="customer_not_identified",
        )
    customer = await customers.get_customer(session=session, customer_id=conversation.customer_id)
    context = conversation.context or {}
    raw_handoff = context.get("handoff")
    handoff: dict[str, Any] = raw_handoff if isinstance(raw_handoff, dict) else {}
    intent = conversation.intent or handoff.get("intent")
    category = intent if intent in BY_ID else "other"
    ticket_type = type_for_category(category)
    if context.get("handoff_reason") == "urgent_keyword" and category == "other":
        category, ticket_type = "fraud_report", "fraud"
    messages = await conversations.list_messages(session=session, conversation_id=conversation.id, limit=1000)
    said = [m for m in messages if m.sender_type == "customer" and m.content_type == "text"]
    zone = ZoneInfo(get_settings().bank_timezone)
    names = {"customer": "客户", "bot": "机器人", "agent": "坐席", "system": "系统"}
    lines = [
        f"[{m.created_at.astimezone(zone):%m-%d %H:%M}] {names.get(m.sender_type, '')}：{m.content}"
        for m in messages[-30:]
        if m.content_type == "text" and m.content.strip()
    ]
    raw_slots = handoff.get("slots", context.get("slots"))
    slots: dict[str, Any] = raw_slots if isinstance(raw_slots, dict) else {}
    fields = prefill_fields(ticket_type, slots)
    raw_summary = handoff.get("summary")
    summary = raw_summary.get("zh-CN") if isinstance(raw_summary, dict) else None
    label = BY_ID[category].zh
    first = said[0].content.strip().replace("\n", " ") if said else ""
    title = f"{label}：{first}"[:60] if first else label
    head = [f"【机器人转人工摘要】{summary}", ""] if summary else []
    description = "\n".join([*head, "【会话记录】", *lines])[:MAX_DESCRIPTION]
    return {
        "customer_id": conversation.customer_id,
        "conversation_id": conversation.public_id,
        "conversation_pk": conversation.id,
        "channel": conversation.channel,
        "type": ticket_type,
        "category": category,
        "priority": default_priority(ticket_type, customer.tier if customer else None),
        "title": mask_text(title) or label,
        "description": mask_text(description) or "",
        "fields": fields,
    }


# --- the duplicate / invalid guard ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duplicate:
    ticket: Ticket
    score: float
    suggestion: Literal["follow", "reopen"]


@dataclass(frozen=True, slots=True)
class CreateCheck:
    duplicates: list[Duplicate] = field(default_factory=list)
    knowledge: list[KnowledgeSuggestion] = field(default_factory=list)

    @property
    def advice(self) -> Literal["create", "follow_existing", "answer_from_knowledge"]:
        if self.duplicates:
            return "follow_existing"
        if self.knowledge:
            return "answer_from_knowledge"
        return "create"


DUPLICATE_TEXT_ONLY = 0.5  # similar enough even in another category
DUPLICATE_SAME_CATEGORY = 0.2
KNOWLEDGE_MIN_SCORE = 0.6


async def check_before_create(
    *,
    session: AsyncSession,
    customer_id: int,
    type: str,
    category: str,
    title: str,
    description: str,
    language: str = "zh-CN",
    channel: str | None = None,
    knowledge: KnowledgeCheck | None = None,
) -> CreateCheck:
    """Before creating: the customer's likely duplicates among their unfinished recent orders (same
    customer, similar text, within `ticket_duplicate_days`), and — for questions the knowledge base
    may answer — its answers. `knowledge` is the seam for the knowledge base (default: the published
    FAQ, or the check installed with `lingxi.tickets.knowledge.set_knowledge_check`)."""
    text = f"{title}\n{description}"
    since = clock.now() - timedelta(days=get_settings().ticket_duplicate_days)
    rows = (
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.customer_id == customer_id,
                Ticket.parent_id.is_(None),
                Ticket.status.in_(UNFINISHED_STATUSES),
                Ticket.created_at >= since,
            )
            .order_by(Ticket.created_at.desc())
            .limit(100)
        )
    ).all()
    wanted = features(text)
    duplicates = []
    for ticket in rows:
        score = dice(wanted, features(f"{ticket.title}\n{ticket.description}"))
        same = ticket.category == category
        if score >= DUPLICATE_TEXT_ONLY or (same and score >= DUPLICATE_SAME_CATEGORY):
            shown = min(1.0, score + (0.3 if same else 0.0))
            suggestion: Literal["follow", "reopen"] = "reopen" if ticket.status == "resolved" else "follow"
            duplicates.append(Duplicate(ticket=ticket, score=round(shown, 3), suggestion=suggestion))
    duplicates.sort(key=lambda d: d.score, reverse=True)
    answers: list[KnowledgeSuggestion] = []
    check = knowledge or get_knowledge_check()
    entry = BY_ID.get(category)
    if type == "inquiry" and (entry is None or entry.kind == "faq"):
        found = await check(session=session, query=text, language=language, channel=channel)
        answers = sorted(
            (a for a in found if a.score >= KNOWLEDGE_MIN_SCORE), key=lambda a: a.score, reverse=True
        )[:3]
    return CreateCheck(duplicates=duplicates[:5], knowledge=answers)


# --- hot issues -----------------------------------------------------------------------------------

HOT_SIMILARITY = 0.3


async def do_detect_hot_issue(*, session: AsyncSession, ticket: Ticket) -> HotIssue | None:
    """Many similar orders from different customers in a short window raise (or grow) an alert for
    supervisors. Idempotent for one order."""
    settings = get_settings()
    if ticket.parent_id is not None:
        return None
    now = clock.now()
    since = now - timedelta(minutes=settings.ticket_hot_window_minutes)
    recent = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.category == ticket.category, Ticket.created_at >= since, Ticket.parent_id.is_(None))
            .order_by(Ticket.id.desc())
            .limit(500)
        )
    ).all()
    wanted = features(f"{ticket.title}\n{ticket.description}")
    similar = [
        t
        for t in recent
        if t.id == ticket.id or dice(wanted, features(f"{t.title}\n{t.description}")) >= HOT_SIMILARITY
    ]
    customer_ids = {t.customer_id for t in similar}
    if len(customer_ids) < settings.ticket_hot_threshold:
        return None
    issue = await session.scalar(
        select(HotIssue)
        .where(HotIssue.category == ticket.category, HotIssue.last_seen_at >= since)
        .order_by(HotIssue.id.desc())
        .limit(1)
    )
    ids = sorted({t.id for t in similar})
    if issue is not None:
        merged = sorted(set(issue.ticket_ids or []) | set(ids))
        if merged == sorted(issue.ticket_ids or []):
            return issue
        issue.ticket_ids = merged
        issue.customer_count = max(issue.customer_count, len(customer_ids))
        issue.last_seen_at = now
        await session.flush()
        return issue
    label = BY_ID[ticket.category].zh if ticket.category in BY_ID else ticket.category
    minutes = settings.ticket_hot_window_minutes
    summary = f"{minutes} 分钟内 {len(customer_ids)} 位客户反映「{label}」类似问题：{mask_text(ticket.title)}"
    issue = HotIssue(
        category=ticket.category,
        summary=summary[:200],
        ticket_ids=ids,
        customer_count=len(customer_ids),
        first_seen_at=min(t.created_at for t in similar),
        last_seen_at=now,
        status="open",
    )
    session.add(issue)
    await session.flush()
    do_record(
        session=session,
        actor=SYSTEM,
        action="ticket.hot_issue",
        subject_type="ticket_hot_issue",
        subject_id=issue.id,
        after={"category": issue.category, "customers": issue.customer_count, "tickets": len(ids)},
    )
    emit(
        session,
        HOT_ISSUE_RAISED,
        {"hot_issue_id": issue.id, "category": issue.category, "customers": issue.customer_count},
    )
    await notifications.do_notify_staff(
        session=session,
        staff_ids=await dispatch.supervisor_ids(session=session, branch_code=None),
        topic="ticket.hot_issue",
        text=issue.summary,
        subject_type="ticket_hot_issue",
        subject_id=issue.id,
    )
    return issue


async def list_hot_issues(
    *, session: AsyncSession, status: str | None = None, limit: int = 50
) -> list[HotIssue]:
    stmt = select(HotIssue).order_by(HotIssue.last_seen_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(HotIssue.status == status)
    return list((await session.scalars(stmt)).all())


async def do_acknowledge_hot_issue(
    *, session: AsyncSession, issue_id: int, user: StaffUser, actor: Actor
) -> HotIssue:
    issue = await session.get(HotIssue, issue_id)
    if issue is None:
        raise NotFound("No such hot issue.", code="hot_issue_not_found")
    if issue.status != "acknowledged":
        issue.status = "acknowledged"
        issue.acknowledged_by = user.id
        issue.acknowledged_at = clock.now()
        await session.flush()
        do_record(
            session=session,
            actor=actor,
            action="ticket.hot_issue_ack",
            subject_type="ticket_hot_issue",
            subject_id=issue.id,
        )
    return issue


# --- the SLA sweep --------------------------------------------------------------------------------


@dataclass(slots=True)
class SweepResult:
    processed: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    auto_closed: int = 0


def due_query(now: datetime, limit: int) -> Any:
    """The sweep's one query: orders whose next SLA check is due (an index range scan)."""
    return (
        select(Ticket).where(Ticket.sla_next_check_at <= now).order_by(Ticket.sla_next_check_at).limit(limit)
    )


SWEEP_BATCH = 500


async def do_sla_sweep(
    *, session: AsyncSession, now: datetime | None = None, limit: int = SWEEP_BATCH
) -> SweepResult:
    """Warn, record breaches, escalate and auto-close whatever is due. Orders are claimed with
    SKIP LOCKED on PostgreSQL, so several workers can sweep at once; each step is recorded on the
    order, so a repeated run does nothing twice."""
    now = now or clock.now()
    slaops.forget_cached(session)  # calendars, policies and escalation targets are read afresh per run
    stmt = due_query(now, limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    result = SweepResult()
    for ticket in (await session.scalars(stmt)).all():
        await _process_due(session, ticket, now, result)
        result.processed += 1
    await session.flush()
    return result


async def _process_due(session: AsyncSession, ticket: Ticket, now: datetime, result: SweepResult) -> None:
    if ticket.status == "resolved":
        if ticket.auto_close_at is not None and ticket.auto_close_at <= now:
            await do_close(session=session, ticket=ticket, actor=SYSTEM, auto=True)
            result.auto_closed += 1
        slaops.refresh_next_check(ticket)
        return
    if ticket.status in FINAL_STATUSES or ticket.sla_paused_at is not None:
        slaops.refresh_next_check(ticket)
        return
    if (
        ticket.first_responded_at is None
        and ticket.first_response_met is None
        and ticket.first_response_due_at is not None
        and ticket.first_response_due_at <= now
    ):
        ticket.first_response_met = False
        add_event(session, ticket, actor=SYSTEM, kind="sla_first_response_breached", note="首次响应超时")
        _audit(
            session,
            ticket,
            SYSTEM,
            "sla_first_response_breach",
            after={"due_at": ticket.first_response_due_at.isoformat()},
        )
        await _notify_staff(
            session,
            await _handlers_of(session, ticket),
            ticket,
            "ticket.sla_first_response",
            "首次响应已超时，请尽快联系客户",
        )
        result.breaches += 1
    if ticket.due_at is not None and ticket.breached_at is None and ticket.due_at <= now:
        ticket.breached_at = now
        ticket.resolution_met = False
        add_event(session, ticket, actor=SYSTEM, kind="sla_breached", note="已超过处理时限")
        _audit(session, ticket, SYSTEM, "sla_breach", after={"due_at": ticket.due_at.isoformat()})
        ticket.next_escalation_at = await slaops.next_escalation(session=session, ticket=ticket)
        result.breaches += 1
    if (
        ticket.warn_at is not None
        and ticket.warned_at is None
        and ticket.breached_at is None
        and ticket.warn_at <= now
    ):
        ticket.warned_at = now
        add_event(session, ticket, actor=SYSTEM, kind="sla_warning", note="即将超过处理时限")
        _audit(
            session,
            ticket,
            SYSTEM,
            "sla_warning",
            after={"due_at": ticket.due_at.isoformat() if ticket.due_at else None},
        )
        await _notify_staff(
            session, await _handlers_of(session, ticket), ticket, "ticket.sla_warning", "即将超过处理时限"
        )
        result.warnings += 1
    while (
        ticket.next_escalation_at is not None
        and ticket.next_escalation_at <= now
        and ticket.escalation_level < 4
    ):
        ticket.escalation_level += 1
        level = ticket.escalation_level
        targets = await dispatch.escalation_targets(session=session, ticket=ticket, level=level)
        add_event(
            session,
            ticket,
            actor=SYSTEM,
            kind="escalated",
            note=f"超时升级至第 {level} 级",
            data={"level": level, "notified": targets},
        )
        _audit(session, ticket, SYSTEM, "escalate", after={"level": level, "notified": targets})
        emit(session, TICKET_ESCALATED, {"ticket_id": ticket.id, "level": level, "notified": targets})
        await _notify_staff(
            session, targets, ticket, "ticket.escalated", f"超时未处理，已升级至第 {level} 级：{ticket.title}"
        )
        result.escalations += 1
        ticket.next_escalation_at = await slaops.next_escalation(session=session, ticket=ticket)
    if ticket.escalation_level >= 4:
        ticket.next_escalation_at = None
    slaops.refresh_next_check(ticket)


# --- bulk actions ---------------------------------------------------------------------------------


def sla_remaining_seconds(ticket: Ticket, now: datetime | None = None) -> int | None:
    """Wall-clock seconds to the resolution deadline (negative when overdue); None without one."""
    if ticket.due_at is None or ticket.status in ("resolved", *FINAL_STATUSES):
        return None
    reference = ticket.sla_paused_at or now or clock.now()
    return int((ticket.due_at - reference).total_seconds())


async def list_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[Ticket]:
    rows = (await session.scalars(select(Ticket).where(Ticket.id.in_(list(ids))))).all()
    by_id = {t.id: t for t in rows}
    return [by_id[i] for i in ids if i in by_id]


async def find_staff_candidates(*, session: AsyncSession, ticket: Ticket) -> list[int]:
    """Members of the order's team (the console offers them first when assigning)."""
    if ticket.team_id is None:
        return []
    return await dispatch.list_member_ids(session=session, team_id=ticket.team_id)
