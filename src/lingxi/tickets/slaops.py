"""The SLA clock applied to orders: choosing the policy and calendar, starting, pausing, resuming and
stopping the clock, recording met/breached, and `sla_next_check_at` — the one indexed column the
periodic sweep reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.settings import get_settings
from lingxi.tickets import dispatch
from lingxi.tickets.constants import FINAL_STATUSES
from lingxi.tickets.models import BusinessCalendar, CalendarDay, SlaPolicy, Ticket
from lingxi.tickets.sla import (
    Calendar,
    PolicyTargets,
    deadlines,
    default_calendar,
    escalation_time,
    shift_after_pause,
)

_CACHE_KEY = "ticket_sla_cache"


async def list_policies(*, session: AsyncSession, active_only: bool = True) -> Sequence[SlaPolicy]:
    stmt = select(SlaPolicy).order_by(SlaPolicy.id)
    if active_only:
        stmt = stmt.where(SlaPolicy.active.is_(True))
    return (await session.scalars(stmt)).all()


def policy_specificity(policy: SlaPolicy) -> int:
    return sum(v is not None for v in (policy.type, policy.priority, policy.tier))


async def choose_policy(
    *, session: AsyncSession, type: str, priority: str, tier: str | None
) -> SlaPolicy | None:
    """The most specific active policy whose type, priority and tier match (NULL matches anything)."""
    best: SlaPolicy | None = None
    for policy in await list_policies(session=session):
        if policy.type not in (None, type) or policy.priority not in (None, priority):
            continue
        if policy.tier not in (None, tier):
            continue
        if best is None or policy_specificity(policy) > policy_specificity(best):
            best = policy
    return best


async def load_calendar(*, session: AsyncSession, code: str | None) -> Calendar:
    """The named calendar (cached for the session: a sweep loads each once), or the default one."""
    cache: dict[str | None, Calendar] = session.info.setdefault(_CACHE_KEY, {})
    if code in cache:
        return cache[code]
    row = (
        None
        if code is None
        else await session.scalar(select(BusinessCalendar).where(BusinessCalendar.code == code))
    )
    if row is None:
        calendar = default_calendar(get_settings().bank_timezone)
    else:
        days = (await session.scalars(select(CalendarDay).where(CalendarDay.calendar_id == row.id))).all()
        calendar = Calendar.build(
            code=row.code, timezone=row.timezone, week=row.week, days={d.day: d.hours for d in days}
        )
    cache[code] = calendar
    return calendar


def forget_cached(session: AsyncSession) -> None:
    """Drop what this session keeps of the configuration (calendars, policies, escalation targets)."""
    for key in (_CACHE_KEY, "ticket_policy_targets", "ticket_escalation_targets"):
        session.info.pop(key, None)


async def calendar_code_for(*, session: AsyncSession, ticket: Ticket, policy: SlaPolicy | None) -> str | None:
    """The policy's calendar if it names one (e.g. 24x7 for fraud), else the team's (its region's)."""
    if policy is not None and policy.calendar_code:
        return policy.calendar_code
    team = await dispatch.get_team(session=session, team_id=ticket.team_id)
    return team.calendar_code if team is not None else None


async def targets_of(*, session: AsyncSession, ticket: Ticket) -> PolicyTargets | None:
    """The order's policy targets (kept for the session: a sweep reads each policy once)."""
    if ticket.sla_policy_id is None:
        return None
    cache: dict[int, PolicyTargets | None] = session.info.setdefault("ticket_policy_targets", {})
    if ticket.sla_policy_id not in cache:
        policy = await session.get(SlaPolicy, ticket.sla_policy_id)
        cache[ticket.sla_policy_id] = PolicyTargets.of(policy) if policy is not None else None
    return cache[ticket.sla_policy_id]


def refresh_next_check(ticket: Ticket) -> None:
    """The earliest moment the sweep has something to do for this order (NULL: nothing pending)."""
    if ticket.status in FINAL_STATUSES:
        ticket.sla_next_check_at = None
        return
    if ticket.status == "resolved":
        ticket.sla_next_check_at = ticket.auto_close_at
        return
    if ticket.sla_paused_at is not None:
        ticket.sla_next_check_at = None
        return
    candidates: list[datetime | None] = [ticket.next_escalation_at]
    if ticket.first_responded_at is None and ticket.first_response_met is None:
        candidates.append(ticket.first_response_due_at)
    if ticket.breached_at is None:
        candidates.append(ticket.due_at)
        if ticket.warned_at is None:
            candidates.append(ticket.warn_at)
    present = [c for c in candidates if c is not None]
    ticket.sla_next_check_at = min(present) if present else None


async def do_start_clock(*, session: AsyncSession, ticket: Ticket, tier: str | None, now: datetime) -> None:
    """Choose the policy and calendar and set the deadlines (at creation, on reopening, on transfer of
    a team with another calendar the deadlines are kept)."""
    policy = await choose_policy(session=session, type=ticket.type, priority=ticket.priority, tier=tier)
    ticket.sla_policy_id = policy.id if policy is not None else None
    ticket.sla_calendar = await calendar_code_for(session=session, ticket=ticket, policy=policy)
    ticket.warned_at = ticket.breached_at = ticket.next_escalation_at = ticket.sla_paused_at = None
    ticket.escalation_level = 0
    ticket.resolution_met = None
    if policy is None:
        ticket.first_response_due_at = ticket.warn_at = ticket.due_at = None
    else:
        calendar = await load_calendar(session=session, code=ticket.sla_calendar)
        due = deadlines(calendar, now, PolicyTargets.of(policy))
        if ticket.first_responded_at is None:
            ticket.first_response_due_at = due.first_response_due_at
        ticket.warn_at, ticket.due_at = due.warn_at, due.due_at
    refresh_next_check(ticket)


def do_pause(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
    refresh_next_check(ticket)


async def do_resume(*, session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """Move every deadline still ahead at the pause by the working time it had left."""
    paused_at = ticket.sla_paused_at
    if paused_at is None:
        return
    calendar = await load_calendar(session=session, code=ticket.sla_calendar)
    ticket.first_response_due_at = shift_after_pause(calendar, ticket.first_response_due_at, paused_at, now)
    ticket.warn_at = shift_after_pause(calendar, ticket.warn_at, paused_at, now)
    ticket.due_at = shift_after_pause(calendar, ticket.due_at, paused_at, now)
    ticket.next_escalation_at = shift_after_pause(calendar, ticket.next_escalation_at, paused_at, now)
    ticket.sla_paused_at = None
    refresh_next_check(ticket)


def record_first_response(ticket: Ticket, now: datetime) -> None:
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    if ticket.first_response_met is None and ticket.first_response_due_at is not None:
        ticket.first_response_met = now <= ticket.first_response_due_at
    refresh_next_check(ticket)


def record_resolved(ticket: Ticket, now: datetime) -> None:
    """Met or breached, for reports; a resolved order closes itself after the confirmation period."""
    effective = ticket.sla_paused_at or now
    if ticket.due_at is not None:
        ticket.resolution_met = ticket.breached_at is None and effective <= ticket.due_at
    ticket.sla_paused_at = None
    ticket.next_escalation_at = None
    ticket.auto_close_at = now + timedelta(days=get_settings().ticket_auto_close_days)
    refresh_next_check(ticket)


def record_finished(ticket: Ticket) -> None:
    ticket.auto_close_at = None
    ticket.next_escalation_at = None
    ticket.sla_paused_at = None
    refresh_next_check(ticket)


async def next_escalation(*, session: AsyncSession, ticket: Ticket) -> datetime | None:
    """When the level after the current one fires (None after the last level of the policy)."""
    targets = await targets_of(session=session, ticket=ticket)
    if targets is None or ticket.due_at is None:
        return None
    calendar = await load_calendar(session=session, code=ticket.sla_calendar)
    return escalation_time(calendar, ticket.due_at, targets, ticket.escalation_level + 1)
