"""Agents: skill groups and skills with proficiency, presence, capacity, wrap-up and the CSAT survey.

Routing (lingxi.routing) builds queues on the skill groups and assigns chats by the agents' presence
and capacity kept here. Canned responses and agent assist live in `canned.py` and `assist.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents import connections
from lingxi.agents.models import (
    PRESENCES,
    STRATEGIES,
    TIMEOUT_ACTIONS,
    AgentProfile,
    AgentSkill,
    CsatResponse,
    SkillGroup,
    WrapUp,
)
from lingxi.audit.service import do_record
from lingxi.auth.service import StaffUser, lock_staff
from lingxi.conversations.models import CHANNELS, Conversation
from lingxi.conversations.service import count_open_by_agent, do_add_message
from lingxi.core.actor import Actor
from lingxi.core.db import insert_ignoring_conflicts
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.realtime import publish_after_commit
from lingxi.core.timeutil import utcnow
from lingxi.settings import get_settings

SURVEY_CHANNELS = ("webchat", "app")  # channels whose page shows the score buttons
HEARTBEAT_SECONDS = connections.HEARTBEAT_SECONDS


def get_connection_registry() -> connections.ConnectionRegistry:
    """Live agent sockets (lingxi.agents.connections): in memory, or Redis when configured."""
    return connections.get_registry()


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


# --- routing settings of a skill group ---------------------------------------------------------------

GROUP_ROUTING_FIELDS = (
    "strategy",
    "max_wait_seconds",
    "overflow_group",
    "timeout_action",
    "service_level_seconds",
)


async def access_skill_group(*, session: AsyncSession, code: str) -> SkillGroup:
    group = await get_skill_group_by_code(session=session, code=code)
    if group is None:
        raise NotFound(f"No skill group '{code}'.", code="skill_group_not_found")
    return group


async def do_update_group_routing(
    *, session: AsyncSession, actor: Actor, group: SkillGroup, changes: dict[str, Any]
) -> SkillGroup:
    """Change how a group's queue is served; an overflow group must exist and not lead back in a loop."""
    unknown = set(changes) - set(GROUP_ROUTING_FIELDS)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "strategy" in changes and changes["strategy"] not in STRATEGIES:
        raise ValidationFailed(f"Unknown strategy; use one of {', '.join(STRATEGIES)}.", code="bad_strategy")
    if "timeout_action" in changes and changes["timeout_action"] not in TIMEOUT_ACTIONS:
        raise ValidationFailed(f"Unknown timeout action; use one of {', '.join(TIMEOUT_ACTIONS)}.")
    target = changes.get("overflow_group", group.overflow_group)
    if "overflow_group" in changes and target is not None:
        if target == group.code:
            raise ValidationFailed("A group cannot overflow into itself.", code="overflow_loop")
        seen = {group.code}
        code: str | None = target
        while code is not None:  # follow the chain: every group in it must exist, none twice
            if code in seen:
                raise ValidationFailed(
                    f"Overflow from '{group.code}' to '{target}' would come back to '{code}'.",
                    code="overflow_loop",
                )
            seen.add(code)
            nxt = await get_skill_group_by_code(session=session, code=code)
            if nxt is None:
                raise ValidationFailed(f"Unknown skill group '{code}'.", code="unknown_skill_group")
            code = nxt.overflow_group
    before = {field: getattr(group, field) for field in GROUP_ROUTING_FIELDS}
    changed = {field: value for field, value in changes.items() if before[field] != value}
    if not changed:
        return group
    for field, value in changed.items():
        setattr(group, field, value)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="skill_group.update_routing",
        subject_type="skill_group",
        subject_id=group.id,
        before={field: before[field] for field in changed},
        after=changed,
    )
    return group


async def list_group_members(*, session: AsyncSession, group_codes: Sequence[str]) -> dict[str, list[int]]:
    """Agent ids with a skill in each of the groups."""
    if not group_codes:
        return {}
    rows = await session.execute(
        select(SkillGroup.code, AgentSkill.agent_id)
        .join(AgentSkill, AgentSkill.skill_group_id == SkillGroup.id)
        .where(SkillGroup.code.in_(list(group_codes)))
    )
    members: dict[str, list[int]] = {code: [] for code in group_codes}
    for code, agent_id in rows:
        members[code].append(int(agent_id))
    return members


async def list_agent_group_codes(*, session: AsyncSession, agent_id: int) -> list[str]:
    rows = await session.scalars(
        select(SkillGroup.code)
        .join(AgentSkill, AgentSkill.skill_group_id == SkillGroup.id)
        .where(AgentSkill.agent_id == agent_id)
        .order_by(SkillGroup.code)
    )
    return list(rows)


# --- presence and routing profile --------------------------------------------------------------------

# Reasons an agent (or a supervisor) gives for not being ready; `disconnected` is set by the system.
PRESENCE_REASONS: dict[str, tuple[str, ...]] = {
    "online": (),
    "busy": ("back_office", "callback", "coaching"),
    "away": ("break", "lunch", "meeting", "training", "disconnected"),
    "offline": ("end_of_shift", "supervisor", "disconnected"),
}
SYSTEM_REASONS = ("disconnected",)
AGENT_AVAILABLE = "agent.available"  # event: the agent may take chats now (routing listens)


async def get_profile(*, session: AsyncSession, agent_id: int) -> AgentProfile | None:
    return await session.get(AgentProfile, agent_id)


async def get_or_create_profile(*, session: AsyncSession, agent_id: int) -> AgentProfile:
    """The agent's profile; created (offline, defaults) on first use, also when two requests race."""
    profile = await session.get(AgentProfile, agent_id)
    if profile is not None:
        return profile
    now = utcnow()
    await session.execute(
        insert_ignoring_conflicts(session, AgentProfile, conflict_columns=["agent_id"]).values(
            agent_id=agent_id,
            presence="offline",
            presence_since=now,
            idle_since=now,
            channel_capacity={},
        )
    )
    profile = await session.get(AgentProfile, agent_id)
    assert profile is not None
    return profile


def check_presence(presence: str, reason: str | None, *, by_system: bool = False) -> None:
    if presence not in PRESENCES:
        raise ValidationFailed(f"Unknown presence '{presence}'; use one of {', '.join(PRESENCES)}.")
    allowed = PRESENCE_REASONS[presence]
    if reason is not None and reason not in allowed:
        raise ValidationFailed(
            f"Reason '{reason}' does not go with '{presence}'"
            + (f"; use one of {', '.join(allowed)}." if allowed else "; it takes no reason."),
            code="bad_presence_reason",
        )
    if presence in ("busy", "away") and reason is None:
        raise ValidationFailed(
            f"Say why you are {presence}: one of {', '.join(r for r in allowed if r not in SYSTEM_REASONS)}.",
            code="presence_reason_required",
        )
    if reason in SYSTEM_REASONS and not by_system:
        raise ValidationFailed(f"'{reason}' is set by the system only.", code="bad_presence_reason")


async def do_set_presence(
    *,
    session: AsyncSession,
    actor: Actor,
    agent: StaffUser,
    presence: str,
    reason: str | None = None,
) -> AgentProfile:
    """Set an agent's presence (the agent, a supervisor, or the system for a lost connection).

    Takes the agent's row lock first, like an assignment does: a chat is never pushed to an agent in
    the moment they go away. Chats they hold stay theirs; only `online` receives new ones.
    """
    check_presence(presence, reason, by_system=actor.type == "system")
    await lock_staff(session=session, staff_id=agent.id)
    profile = await get_or_create_profile(session=session, agent_id=agent.id)
    await session.refresh(profile)
    if profile.presence == presence and profile.presence_reason == reason:
        return profile
    before = {"presence": profile.presence, "reason": profile.presence_reason}
    now = utcnow()
    if presence == "online" and profile.presence != "online":
        profile.idle_since = now
    profile.presence, profile.presence_reason, profile.presence_since = presence, reason, now
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="agent.presence",
        subject_type="staff_user",
        subject_id=agent.id,
        before=before,
        after={"presence": presence, "reason": reason},
    )
    frame = {"type": "presence", "agent_id": agent.id, "presence": presence, "reason": reason}
    publish_after_commit(session, [f"agent:{agent.id}", "staff:wallboard"], frame)
    if presence == "online":
        emit(session, AGENT_AVAILABLE, {"agent_id": agent.id})
    return profile


# What the wallboard and the agent's switch show: presence, plus load and wrap-up for online agents.
STATES = ("available", "full", "wrap_up", "busy", "away", "offline")


def agent_state(profile: AgentProfile | None, load: int, capacity: int, now: datetime) -> str:
    if profile is None or profile.presence == "offline":
        return "offline"
    if profile.presence in ("busy", "away"):
        return profile.presence
    if profile.wrap_up_until is not None and profile.wrap_up_until > now:
        return "wrap_up"
    return "full" if load >= capacity else "available"


async def count_open_chats(*, session: AsyncSession, agent_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Open chats per agent and channel."""
    return await count_open_by_agent(session=session, agent_ids=agent_ids)


def wrap_up_seconds(profile: AgentProfile) -> int:
    if profile.wrap_up_seconds is not None:
        return profile.wrap_up_seconds
    return get_settings().routing_default_wrap_up_seconds


async def do_update_routing_profile(
    *,
    session: AsyncSession,
    actor: Actor,
    agent: StaffUser,
    channel_capacity: dict[str, int] | None,
    wrap_up_seconds: int | None,
) -> AgentProfile:
    """Per-channel caps (within the agent's total capacity) and the agent's own wrap-up time."""
    caps = channel_capacity or {}
    unknown = sorted(set(caps) - set(CHANNELS))
    if unknown:
        raise ValidationFailed(
            f"Unknown channel: {', '.join(unknown)}; use {', '.join(CHANNELS)}.", code="unknown_channel"
        )
    bad = sorted(ch for ch, n in caps.items() if not 0 <= n <= agent.max_concurrent_chats)
    if bad:
        raise ValidationFailed(
            f"A channel's capacity is 0..{agent.max_concurrent_chats} (the agent's total);"
            f" check {', '.join(bad)}.",
            code="bad_channel_capacity",
        )
    if wrap_up_seconds is not None and not 0 <= wrap_up_seconds <= 600:
        raise ValidationFailed("Wrap-up time is 0..600 seconds.", code="bad_wrap_up_seconds")
    await lock_staff(session=session, staff_id=agent.id)
    profile = await get_or_create_profile(session=session, agent_id=agent.id)
    before = {"channel_capacity": dict(profile.channel_capacity), "wrap_up_seconds": profile.wrap_up_seconds}
    after = {"channel_capacity": dict(caps), "wrap_up_seconds": wrap_up_seconds}
    if before == after:
        return profile
    profile.channel_capacity, profile.wrap_up_seconds = dict(caps), wrap_up_seconds
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="agent.routing_profile",
        subject_type="staff_user",
        subject_id=agent.id,
        before=before,
        after=after,
    )
    emit(session, AGENT_AVAILABLE, {"agent_id": agent.id})  # a raised cap may let the agent take more
    return profile


async def do_note_assignment(*, session: AsyncSession, agent_id: int) -> None:
    """The agent received a chat: the longest-idle clock starts again."""
    profile = await get_profile(session=session, agent_id=agent_id)
    if profile is not None:
        profile.idle_since = utcnow()


async def do_start_wrap_up(*, session: AsyncSession, agent_id: int) -> datetime | None:
    """After a chat ends the agent has wrap-up time before new chats are pushed; returns its end."""
    profile = await get_or_create_profile(session=session, agent_id=agent_id)
    seconds = wrap_up_seconds(profile)
    now = utcnow()
    if seconds <= 0:
        profile.wrap_up_until = None
        profile.idle_since = now
        emit(session, AGENT_AVAILABLE, {"agent_id": agent_id})
        return None
    profile.wrap_up_until = now + timedelta(seconds=seconds)
    await session.flush()
    return profile.wrap_up_until


WRAP_UP_CODES: tuple[tuple[str, str, str], ...] = (
    ("resolved", "问题已解决", "Resolved"),
    ("info_provided", "已解答咨询", "Information given"),
    ("ticket_created", "已转工单跟进", "Work order created"),
    ("follow_up", "需要回访", "Follow-up needed"),
    ("branch_referral", "引导至网点办理", "Referred to a branch"),
    ("complaint", "投诉已受理", "Complaint recorded"),
    ("fraud_handled", "风险已处置", "Fraud case handled"),
    ("no_response", "客户无应答", "Customer did not respond"),
)


async def do_record_wrap_up(
    *,
    session: AsyncSession,
    actor: Actor,
    conversation: Conversation,
    agent: StaffUser,
    code: str,
    note: str | None,
) -> WrapUp:
    """The agent's wrap-up code for the chat they closed; ends their wrap-up time at once."""
    if code not in {c for c, _, _ in WRAP_UP_CODES}:
        raise ValidationFailed(
            f"Unknown wrap-up code '{code}'; pick one from the list.",
            code="unknown_wrap_up_code",
            details=[{"field": "code", "problem": "unknown"}],
        )
    if conversation.status != "closed" or conversation.closed_at is None:
        raise Conflict("Close the conversation before wrapping it up.", code="not_closed")
    if conversation.assigned_agent_id != agent.id:
        raise Conflict("Only the agent who had the chat wraps it up.", code="not_assigned_to_you")
    existing = await session.scalar(
        select(WrapUp).where(
            WrapUp.conversation_id == conversation.id, WrapUp.closed_at == conversation.closed_at
        )
    )
    if existing is not None:
        raise Conflict("This chat has been wrapped up already.", code="wrap_up_exists")
    wrap_up = WrapUp(
        conversation_id=conversation.id,
        closed_at=conversation.closed_at,
        agent_id=agent.id,
        code=code,
        note=note,
    )
    session.add(wrap_up)
    try:
        await session.flush()
    except IntegrityError:  # recorded twice at once; the caller's transaction rolls back
        raise Conflict("This chat has been wrapped up already.", code="wrap_up_exists") from None
    profile = await get_or_create_profile(session=session, agent_id=agent.id)
    now = utcnow()
    if profile.wrap_up_until is not None:
        profile.wrap_up_until = None
        profile.idle_since = now
        emit(session, AGENT_AVAILABLE, {"agent_id": agent.id})
    do_record(
        session=session,
        actor=actor,
        action="conversation.wrap_up",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"code": code, "note": note},
    )
    return wrap_up


async def get_wrap_up(*, session: AsyncSession, conversation: Conversation) -> WrapUp | None:
    if conversation.closed_at is None:
        return None
    return await session.scalar(
        select(WrapUp).where(
            WrapUp.conversation_id == conversation.id, WrapUp.closed_at == conversation.closed_at
        )
    )


# --- satisfaction survey -----------------------------------------------------------------------------

SURVEY_KEY = "survey_for"  # conversation.context: the closing (closed_at, ISO) a survey was offered for


async def do_offer_survey(*, session: AsyncSession, conversation: Conversation) -> None:
    """After an agent closed the chat, ask the customer for a score (web and app chats have the buttons)."""
    if conversation.closed_at is None or conversation.assigned_agent_id is None:
        return
    if conversation.channel not in SURVEY_CHANNELS:
        return
    english = conversation.language.startswith("en")
    conversation.context = {**conversation.context, SURVEY_KEY: conversation.closed_at.isoformat()}
    await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="System" if english else "系统",
        content="How satisfied are you with this service? Tap 1 to 5 stars."
        if english
        else "请您为本次服务打分（1-5星），您的评价将帮助我们改进服务。",
        payload={"event": "survey", "survey": {"kind": "csat", "scale": 5}},
    )


async def do_record_csat(
    *, session: AsyncSession, actor: Actor, conversation: Conversation, score: int, comment: str | None
) -> CsatResponse:
    """The customer's answer to the survey of the latest agent-closed chat (once per closing)."""
    if not 1 <= score <= 5:
        raise ValidationFailed("The score is 1 to 5.", code="bad_score")
    offered = conversation.context.get(SURVEY_KEY)
    if (
        conversation.status != "closed"
        or conversation.closed_at is None
        or offered != conversation.closed_at.isoformat()
    ):
        raise Conflict("There is no survey to answer for this chat.", code="no_survey")
    response = CsatResponse(
        conversation_id=conversation.id,
        closed_at=conversation.closed_at,
        agent_id=conversation.assigned_agent_id,
        customer_id=conversation.customer_id,
        score=score,
        comment=comment,
    )
    session.add(response)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("You have already rated this chat, thank you.", code="survey_answered") from None
    do_record(
        session=session,
        actor=actor,
        action="conversation.csat",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"score": score, "agent_id": conversation.assigned_agent_id},
    )
    emit(
        session,
        "survey.answered",
        {"conversation_id": conversation.id, "agent_id": conversation.assigned_agent_id, "score": score},
    )
    return response
