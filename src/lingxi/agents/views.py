"""HTTP routes of the agents domain: skill groups and skills, routing settings, presence, wrap-up,
canned responses and agent assist."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from lingxi.agents import assist, canned, service
from lingxi.agents.models import AgentProfile, CannedResponse, SkillGroup
from lingxi.agents.schemas import (
    AgentSkillIn,
    AgentSkillList,
    AgentSkillRead,
    AssistFact,
    AssistHint,
    AssistRead,
    AssistSimilar,
    AssistSuggestion,
    CannedCreate,
    CannedList,
    CannedRead,
    CannedRendered,
    CannedUpdate,
    PresenceRead,
    PresenceUpdate,
    RoutingProfileRead,
    RoutingProfileUpdate,
    SkillGroupCreate,
    SkillGroupList,
    SkillGroupRead,
    SkillGroupRouting,
    SkillGroupRoutingUpdate,
    WrapUpCode,
    WrapUpCodeList,
    WrapUpCreate,
    WrapUpRead,
)
from lingxi.auth.permissions import Perm, role_has
from lingxi.auth.service import CurrentStaff, StaffUser, access_staff, request_actor, require
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.deps import SessionDep
from lingxi.core.errors import NotFound, ValidationFailed
from lingxi.core.timeutil import utcnow
from lingxi.customers import service as customers

router = APIRouter(tags=["agents"])

StaffAdmin = Annotated[StaffUser, Depends(require(Perm.STAFF_ADMIN))]
Handler = Annotated[StaffUser, Depends(require(Perm.CHAT_HANDLE))]
Monitor = Annotated[StaffUser, Depends(require(Perm.CHAT_MONITOR))]


async def _conversation(session: Any, user: StaffUser, public_id: str) -> Conversation:
    return await conversations.access_for_staff(
        session=session, public_id=public_id, staff_id=user.id, monitor=role_has(user.role, Perm.CHAT_MONITOR)
    )


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


# --- routing settings of groups and agents (administrators) ------------------------------------------


def _routing_read(group: SkillGroup) -> SkillGroupRouting:
    return SkillGroupRouting(
        code=group.code,
        strategy=group.strategy,
        max_wait_seconds=group.max_wait_seconds,
        overflow_group=group.overflow_group,
        timeout_action=group.timeout_action,
        service_level_seconds=group.service_level_seconds,
    )


@router.patch("/api/admin/skill-groups/{code}", response_model=SkillGroupRouting)
async def update_group_routing(
    code: str, body: SkillGroupRoutingUpdate, admin: StaffAdmin, session: SessionDep, request: Request
) -> SkillGroupRouting:
    group = await service.access_skill_group(session=session, code=code)
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    for field in ("strategy", "max_wait_seconds", "timeout_action", "service_level_seconds"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(
                f"{field} may not be empty.", details=[{"field": field, "problem": "null"}]
            )
    group = await service.do_update_group_routing(
        session=session, actor=request_actor(request), group=group, changes=changes
    )
    return _routing_read(group)


@router.get("/api/admin/skill-groups/{code}/routing", response_model=SkillGroupRouting)
async def get_group_routing(code: str, admin: StaffAdmin, session: SessionDep) -> SkillGroupRouting:
    return _routing_read(await service.access_skill_group(session=session, code=code))


def _profile_read(agent: StaffUser, profile: AgentProfile) -> RoutingProfileRead:
    return RoutingProfileRead(
        agent_id=agent.id,
        max_concurrent_chats=agent.max_concurrent_chats,
        languages=[lang for lang in agent.languages.split(",") if lang],
        channel_capacity={k: int(v) for k, v in (profile.channel_capacity or {}).items()},
        wrap_up_seconds=profile.wrap_up_seconds,
        effective_wrap_up_seconds=service.wrap_up_seconds(profile),
    )


@router.get("/api/admin/staff/{staff_id}/routing-profile", response_model=RoutingProfileRead)
async def get_routing_profile(staff_id: int, admin: StaffAdmin, session: SessionDep) -> RoutingProfileRead:
    agent = await access_staff(session=session, staff_id=staff_id)
    profile = await service.get_or_create_profile(session=session, agent_id=agent.id)
    return _profile_read(agent, profile)


@router.put("/api/admin/staff/{staff_id}/routing-profile", response_model=RoutingProfileRead)
async def set_routing_profile(
    staff_id: int, body: RoutingProfileUpdate, admin: StaffAdmin, session: SessionDep, request: Request
) -> RoutingProfileRead:
    agent = await access_staff(session=session, staff_id=staff_id)
    profile = await service.do_update_routing_profile(
        session=session,
        actor=request_actor(request),
        agent=agent,
        channel_capacity=body.channel_capacity,
        wrap_up_seconds=body.wrap_up_seconds,
    )
    return _profile_read(agent, profile)


# --- the agent's own presence ------------------------------------------------------------------------


async def _presence_read(session: Any, agent: StaffUser) -> PresenceRead:
    profile = await service.get_or_create_profile(session=session, agent_id=agent.id)
    loads = (await service.count_open_chats(session=session, agent_ids=[agent.id])).get(agent.id, {})
    load = sum(loads.values())
    return PresenceRead(
        agent_id=agent.id,
        presence=profile.presence,
        reason=profile.presence_reason,
        since=profile.presence_since,
        state=service.agent_state(profile, load, agent.max_concurrent_chats, utcnow()),
        load=load,
        capacity=agent.max_concurrent_chats,
        channel_capacity={k: int(v) for k, v in (profile.channel_capacity or {}).items()},
        channel_load=loads,
        wrap_up_until=profile.wrap_up_until
        if profile.wrap_up_until and profile.wrap_up_until > utcnow()
        else None,
        wrap_up_seconds=service.wrap_up_seconds(profile),
        groups=await service.list_agent_group_codes(session=session, agent_id=agent.id),
        reasons={
            p: [r for r in reasons if r not in service.SYSTEM_REASONS]
            for p, reasons in service.PRESENCE_REASONS.items()
        },
    )


@router.get("/api/agent/presence", response_model=PresenceRead)
async def get_presence(user: Handler, session: SessionDep) -> PresenceRead:
    return await _presence_read(session, user)


@router.put("/api/agent/presence", response_model=PresenceRead)
async def set_presence(
    body: PresenceUpdate, user: Handler, session: SessionDep, request: Request
) -> PresenceRead:
    await service.do_set_presence(
        session=session, actor=request_actor(request), agent=user, presence=body.presence, reason=body.reason
    )
    return await _presence_read(session, user)


@router.put("/api/supervisor/agents/{staff_id}/presence", response_model=PresenceRead)
async def set_agent_presence(
    staff_id: int, body: PresenceUpdate, user: Monitor, session: SessionDep, request: Request
) -> PresenceRead:
    """A supervisor sets an agent's presence (e.g. offline for one who left without signing out)."""
    agent = await access_staff(session=session, staff_id=staff_id)
    if not role_has(agent.role, Perm.CHAT_HANDLE):
        raise NotFound(f"No agent {staff_id}.", code="agent_not_found")
    reason = body.reason if body.reason is not None or body.presence != "offline" else "supervisor"
    await service.do_set_presence(
        session=session, actor=request_actor(request), agent=agent, presence=body.presence, reason=reason
    )
    return await _presence_read(session, agent)


# --- wrap-up -----------------------------------------------------------------------------------------


@router.get("/api/agent/wrap-up-codes", response_model=WrapUpCodeList)
async def wrap_up_codes(user: Handler) -> WrapUpCodeList:
    return WrapUpCodeList(
        items=[WrapUpCode(code=c, name_zh=zh, name_en=en) for c, zh, en in service.WRAP_UP_CODES]
    )


@router.post("/api/agent/conversations/{conversation_id}/wrap-up", response_model=WrapUpRead, status_code=201)
async def wrap_up(
    conversation_id: str, body: WrapUpCreate, user: Handler, session: SessionDep, request: Request
) -> WrapUpRead:
    conversation = await _conversation(session, user, conversation_id)
    record = await service.do_record_wrap_up(
        session=session,
        actor=request_actor(request),
        conversation=conversation,
        agent=user,
        code=body.code,
        note=body.note,
    )
    return WrapUpRead(
        conversation_id=conversation.public_id,
        code=record.code,
        note=record.note,
        created_at=record.created_at,
    )


# --- canned responses --------------------------------------------------------------------------------


def _canned_read(response: CannedResponse, user: StaffUser) -> CannedRead:
    return CannedRead(
        id=response.id,
        title=response.title,
        content=response.content,
        shortcut=response.shortcut,
        skill_group=response.skill_group,
        language=response.language,
        shared=response.owner_id is None,
        editable=canned.may_edit(response, user),
        variables=canned.variables_in(response.content),
    )


@router.get("/api/agent/canned-responses", response_model=CannedList)
async def list_canned(
    user: Handler,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=50)] = None,
    skill_group: Annotated[str | None, Query(max_length=40)] = None,
    language: Annotated[Literal["zh-CN", "en"] | None, Query()] = None,
) -> CannedList:
    items = await canned.list_canned(
        session=session, user=user, q=q, skill_group=skill_group, language=language
    )
    return CannedList(items=[_canned_read(r, user) for r in items], variables=list(canned.VARIABLES))


@router.post("/api/agent/canned-responses", response_model=CannedRead, status_code=201)
async def create_canned(
    body: CannedCreate, user: Handler, session: SessionDep, request: Request
) -> CannedRead:
    response = await canned.do_create_canned(
        session=session,
        actor=request_actor(request),
        user=user,
        title=body.title,
        content=body.content,
        shared=body.shared,
        skill_group=body.skill_group,
        language=body.language,
        shortcut=body.shortcut,
    )
    return _canned_read(response, user)


@router.patch("/api/agent/canned-responses/{canned_id}", response_model=CannedRead)
async def update_canned(
    canned_id: int, body: CannedUpdate, user: Handler, session: SessionDep, request: Request
) -> CannedRead:
    response = await canned.access_canned(session=session, user=user, canned_id=canned_id)
    changes: dict[str, object] = {field: getattr(body, field) for field in body.model_fields_set}
    for field in ("title", "content", "language"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(
                f"{field} may not be empty.", details=[{"field": field, "problem": "null"}]
            )
    response = await canned.do_update_canned(
        session=session, actor=request_actor(request), user=user, response=response, changes=changes
    )
    return _canned_read(response, user)


@router.delete("/api/agent/canned-responses/{canned_id}", status_code=204)
async def delete_canned(canned_id: int, user: Handler, session: SessionDep, request: Request) -> Response:
    response = await canned.access_canned(session=session, user=user, canned_id=canned_id)
    await canned.do_delete_canned(session=session, actor=request_actor(request), user=user, response=response)
    return Response(status_code=204)


async def _customer_context(session: Any, conversation: Conversation) -> tuple[str | None, str | None]:
    """(how to address the customer, the bot's topic) for canned responses and assist."""
    english = conversation.language.startswith("en")
    name = None
    if conversation.customer_id is not None:
        customer = await customers.get_customer(session=session, customer_id=conversation.customer_id)
        if customer is not None:
            surname = customer.name.split()[-1] if customer.name.isascii() else customer.name[:1]
            name = canned.honorific(surname=surname, gender=customer.gender, english=english)
    handoff = conversation.context.get("handoff") or {}
    titles = handoff.get("intent_title") or {}
    intent = titles.get("en" if english else "zh-CN") if isinstance(titles, dict) else None
    return name, intent or conversation.intent


@router.get(
    "/api/agent/conversations/{conversation_id}/canned-responses/{canned_id}", response_model=CannedRendered
)
async def render_canned(
    conversation_id: str, canned_id: int, user: Handler, session: SessionDep
) -> CannedRendered:
    """The response with this conversation's values filled in (names masked as everywhere)."""
    conversation = await _conversation(session, user, conversation_id)
    response = await canned.access_canned(session=session, user=user, canned_id=canned_id)
    name, intent = await _customer_context(session, conversation)
    messages = await conversations.list_recent_messages(
        session=session, conversation_id=conversation.id, limit=50
    )
    facts = assist.key_facts(messages)
    handoff = conversation.context.get("handoff") or {}
    today = customers.bank_today()
    rendered = canned.render_for(
        response,
        conversation=conversation,
        agent=user,
        customer_name=name,
        card_tail=assist.latest_card_tail(facts, dict(handoff.get("slots") or {})),
        today=today.isoformat()
        if conversation.language.startswith("en")
        else f"{today.year}年{today.month}月{today.day}日",
        intent=intent,
    )
    return CannedRendered(id=response.id, text=rendered.text, missing=rendered.missing)


# --- agent assist ------------------------------------------------------------------------------------


@router.get("/api/agent/conversations/{conversation_id}/assist", response_model=AssistRead)
async def get_assist(conversation_id: str, user: Handler, session: SessionDep) -> AssistRead:
    conversation = await _conversation(session, user, conversation_id)
    _, intent = await _customer_context(session, conversation)
    result = await assist.build_assist(
        session=session, conversation=conversation, intent_title=intent if conversation.intent else None
    )
    return AssistRead(
        conversation_id=conversation.public_id,
        verification_level=conversation.verification_level,
        facts=[AssistFact(type=f.type, value=f.value, message_id=f.message_id) for f in result.facts],
        suggestions=[
            AssistSuggestion(entry_id=s.entry_id, question=s.question, answer=s.answer, score=s.score)
            for s in result.suggestions
        ],
        similar=[
            AssistSimilar(
                conversation_id=s.conversation_id,
                channel=s.channel,
                intent=s.intent,
                closed_at=s.closed_at,
                excerpt=s.excerpt,
                wrap_up_code=s.wrap_up_code,
                same_customer=s.same_customer,
                score=s.score,
            )
            for s in result.similar
        ],
        hints=[
            AssistHint(code=h.code, severity=h.severity, text={"zh-CN": h.zh, "en": h.en})
            for h in result.hints
        ],
    )
