"""Skill groups and which agent belongs to which, with what proficiency (routing builds queues on these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents.models import AgentSkill, SkillGroup
from lingxi.audit.service import do_record
from lingxi.auth.service import StaffUser
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, ValidationFailed


@dataclass(frozen=True, slots=True)
class SkillAssignment:
    skill_group_code: str
    proficiency: int


async def list_skill_groups(*, session: AsyncSession) -> Sequence[SkillGroup]:
    return (await session.scalars(select(SkillGroup).order_by(SkillGroup.code))).all()


async def get_skill_group_by_code(*, session: AsyncSession, code: str) -> SkillGroup | None:
    return await session.scalar(select(SkillGroup).where(SkillGroup.code == code))


async def do_create_skill_group(
    *,
    session: AsyncSession,
    actor: Actor,
    code: str,
    name_zh: str,
    name_en: str,
    description: str | None = None,
) -> SkillGroup:
    if await get_skill_group_by_code(session=session, code=code):
        raise Conflict(f"Skill group '{code}' already exists.", code="skill_group_exists")
    group = SkillGroup(code=code, name_zh=name_zh, name_en=name_en, description=description)
    session.add(group)
    try:
        await session.flush()
    except IntegrityError:  # created in parallel; the caller's transaction rolls back
        raise Conflict(f"Skill group '{code}' already exists.", code="skill_group_exists") from None
    do_record(
        session=session,
        actor=actor,
        action="skill_group.create",
        subject_type="skill_group",
        subject_id=group.id,
        after={"group_code": code, "name_zh": name_zh, "name_en": name_en},
    )
    return group


async def list_agent_skills(*, session: AsyncSession, agent: StaffUser) -> list[tuple[SkillGroup, int]]:
    rows = await session.execute(
        select(SkillGroup, AgentSkill.proficiency)
        .join(AgentSkill, AgentSkill.skill_group_id == SkillGroup.id)
        .where(AgentSkill.agent_id == agent.id)
        .order_by(SkillGroup.code)
    )
    return [(group, proficiency) for group, proficiency in rows]


async def do_set_agent_skills(
    *, session: AsyncSession, actor: Actor, agent: StaffUser, skills: Sequence[SkillAssignment]
) -> list[tuple[SkillGroup, int]]:
    """Replace the agent's skills with `skills` (an empty list removes them all)."""
    codes = [s.skill_group_code for s in skills]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ValidationFailed(
            f"Skill group listed more than once: {', '.join(twice)}.",
            details=[{"field": "skill_group_code", "problem": f"duplicate {c}"} for c in twice],
        )
    bad_levels = [s.skill_group_code for s in skills if not 1 <= s.proficiency <= 5]
    if bad_levels:
        raise ValidationFailed(f"Proficiency must be 1..5 (check {', '.join(bad_levels)}).")
    groups = (
        {
            g.code: g
            for g in (await session.scalars(select(SkillGroup).where(SkillGroup.code.in_(codes)))).all()
        }
        if codes
        else {}
    )
    unknown = [c for c in codes if c not in groups]
    if unknown:
        raise ValidationFailed(
            f"Unknown skill group: {', '.join(unknown)}. Create it first or pick one from the list.",
            code="unknown_skill_group",
            details=[{"field": "skill_group_code", "problem": f"unknown {c}"} for c in unknown],
        )
    before = {g.code: p for g, p in await list_agent_skills(session=session, agent=agent)}
    after = {s.skill_group_code: s.proficiency for s in skills}
    if before == after:
        return await list_agent_skills(session=session, agent=agent)
    await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent.id))
    for s in skills:
        session.add(
            AgentSkill(
                agent_id=agent.id, skill_group_id=groups[s.skill_group_code].id, proficiency=s.proficiency
            )
        )
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="staff.set_skills",
        subject_type="staff_user",
        subject_id=agent.id,
        before={"skills": before},
        after={"skills": after},
    )
    return await list_agent_skills(session=session, agent=agent)
