"""Dispatch: which team an order goes to (rules by type, category, product, region and branch), teams
and their members, and who an order is escalated to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.auth import service as auth
from lingxi.tickets.models import DispatchRule, Ticket, TicketTeam, TicketTeamMember


@dataclass(frozen=True, slots=True)
class DispatchInput:
    type: str
    category: str
    product: str
    region: str | None
    customer_branch: str | None


async def list_teams(*, session: AsyncSession, active_only: bool = True) -> Sequence[TicketTeam]:
    stmt = select(TicketTeam).order_by(TicketTeam.kind.desc(), TicketTeam.code)
    if active_only:
        stmt = stmt.where(TicketTeam.active.is_(True))
    return (await session.scalars(stmt)).all()


async def get_team(*, session: AsyncSession, team_id: int | None) -> TicketTeam | None:
    return None if team_id is None else await session.get(TicketTeam, team_id)


async def get_team_by_code(*, session: AsyncSession, code: str) -> TicketTeam | None:
    return await session.scalar(select(TicketTeam).where(TicketTeam.code == code))


async def list_rules(*, session: AsyncSession, active_only: bool = True) -> Sequence[DispatchRule]:
    stmt = select(DispatchRule).order_by(DispatchRule.position, DispatchRule.id)
    if active_only:
        stmt = stmt.where(DispatchRule.active.is_(True))
    return (await session.scalars(stmt)).all()


def rule_matches(rule: DispatchRule, order: DispatchInput) -> bool:
    conditions = (
        (rule.type, order.type),
        (rule.category, order.category),
        (rule.product, order.product),
        (rule.region, order.region),
        (rule.branch_code, order.customer_branch),
    )
    return all(wanted is None or wanted == actual for wanted, actual in conditions)


async def branch_team(
    *, session: AsyncSession, branch_code: str | None, region: str | None = None
) -> TicketTeam | None:
    """The branch team of the customer's branch, else the branch team serving their region."""
    base = select(TicketTeam).where(TicketTeam.kind == "branch", TicketTeam.active.is_(True))
    if branch_code:
        team = await session.scalar(
            base.where(TicketTeam.branch_code == branch_code).order_by(TicketTeam.id).limit(1)
        )
        if team is not None:
            return team
    if region:
        return await session.scalar(base.where(TicketTeam.region == region).order_by(TicketTeam.id).limit(1))
    return None


async def choose_team(
    *, session: AsyncSession, order: DispatchInput
) -> tuple[TicketTeam | None, DispatchRule | None]:
    """The first matching rule's team. A rule sending to the customer's branch is skipped when that
    branch has no team, so a catch-all rule further down still catches the order."""
    for rule in await list_rules(session=session):
        if not rule_matches(rule, order):
            continue
        if rule.to_customer_branch:
            team = await branch_team(session=session, branch_code=order.customer_branch, region=order.region)
        else:
            team = await get_team(session=session, team_id=rule.team_id)
        if team is not None and team.active:
            return team, rule
    return None, None


async def list_team_ids_of(*, session: AsyncSession, staff_id: int) -> list[int]:
    stmt = select(TicketTeamMember.team_id).where(TicketTeamMember.staff_id == staff_id)
    return list((await session.scalars(stmt)).all())


async def list_member_ids(*, session: AsyncSession, team_id: int) -> list[int]:
    stmt = select(TicketTeamMember.staff_id).where(TicketTeamMember.team_id == team_id)
    return list((await session.scalars(stmt)).all())


async def supervisor_ids(*, session: AsyncSession, branch_code: str | None) -> list[int]:
    """Active supervisors responsible for a branch's orders: the branch's own and head office's."""
    return [
        user.id
        for user in await auth.list_staff(session=session, role="supervisor")
        if user.is_active and user.branch_code in (None, branch_code)
    ]


async def escalation_targets(*, session: AsyncSession, ticket: Ticket, level: int) -> list[int]:
    """Who is told at each level: 1 the assignee (or the team), 2 the team lead, 3 the department
    head, 4 the service supervisors. A missing person falls through to the next level up.

    The answers for a team are kept for the session (a sweep escalating many orders of one team
    asks once)."""
    if ticket.assignee_id is not None and level <= 1:
        return [ticket.assignee_id]
    cache: dict[tuple[int | None, str | None, int], list[int]] = session.info.setdefault(
        "ticket_escalation_targets", {}
    )
    key = (ticket.team_id, ticket.branch_code, level)
    if key not in cache:
        cache[key] = await _escalation_targets(session, ticket, level)
    return list(cache[key])


async def _escalation_targets(session: AsyncSession, ticket: Ticket, level: int) -> list[int]:
    team = await get_team(session=session, team_id=ticket.team_id)
    if level <= 1:
        if team is not None:
            members = await list_member_ids(session=session, team_id=team.id)
            if members:
                return members
        level = 2
    if level == 2:
        if team is not None and team.lead_id is not None:
            return [team.lead_id]
        level = 3
    if level == 3:
        head = None
        if team is not None:
            head = team.head_id
            if head is None and team.parent_id is not None:
                parent = await get_team(session=session, team_id=team.parent_id)
                head = parent.lead_id if parent is not None else None
        if head is not None:
            return [head]
    return await supervisor_ids(session=session, branch_code=ticket.branch_code)
