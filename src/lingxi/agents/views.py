"""HTTP routes of the agents domain: skill groups and agents' skills."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from lingxi.agents import service
from lingxi.agents.models import SkillGroup
from lingxi.agents.schemas import (
    AgentSkillIn,
    AgentSkillList,
    AgentSkillRead,
    SkillGroupCreate,
    SkillGroupList,
    SkillGroupRead,
)
from lingxi.auth.permissions import Perm
from lingxi.auth.service import CurrentStaff, StaffUser, access_staff, request_actor, require
from lingxi.core.deps import SessionDep

router = APIRouter(tags=["agents"])

StaffAdmin = Annotated[StaffUser, Depends(require(Perm.STAFF_ADMIN))]


def _group_read(group: SkillGroup) -> SkillGroupRead:
    return SkillGroupRead(
        id=group.id,
        code=group.code,
        name_zh=group.name_zh,
        name_en=group.name_en,
        description=group.description,
    )


def _skills_read(staff_id: int, rows: list[tuple[SkillGroup, int]]) -> AgentSkillList:
    return AgentSkillList(
        staff_id=staff_id,
        items=[
            AgentSkillRead(skill_group_code=g.code, name_zh=g.name_zh, name_en=g.name_en, proficiency=p)
            for g, p in rows
        ],
    )


@router.get("/api/agents/skill-groups", response_model=SkillGroupList)
async def list_skill_groups(user: CurrentStaff, session: SessionDep) -> SkillGroupList:
    groups = await service.list_skill_groups(session=session)
    return SkillGroupList(items=[_group_read(g) for g in groups])


@router.post("/api/admin/skill-groups", response_model=SkillGroupRead, status_code=201)
async def create_skill_group(
    body: SkillGroupCreate, admin: StaffAdmin, session: SessionDep, request: Request
) -> SkillGroupRead:
    group = await service.do_create_skill_group(
        session=session,
        actor=request_actor(request),
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        description=body.description,
    )
    return _group_read(group)


@router.get("/api/admin/staff/{staff_id}/skills", response_model=AgentSkillList)
async def get_staff_skills(staff_id: int, admin: StaffAdmin, session: SessionDep) -> AgentSkillList:
    agent = await access_staff(session=session, staff_id=staff_id)
    return _skills_read(agent.id, await service.list_agent_skills(session=session, agent=agent))


@router.put("/api/admin/staff/{staff_id}/skills", response_model=AgentSkillList)
async def set_staff_skills(
    staff_id: int,
    body: Annotated[list[AgentSkillIn], Body(max_length=50)],
    admin: StaffAdmin,
    session: SessionDep,
    request: Request,
) -> AgentSkillList:
    agent = await access_staff(session=session, staff_id=staff_id)
    rows = await service.do_set_agent_skills(
        session=session,
        actor=request_actor(request),
        agent=agent,
        skills=[
            service.SkillAssignment(skill_group_code=s.skill_group_code, proficiency=s.proficiency)
            for s in body
        ],
    )
    return _skills_read(agent.id, rows)
