"""Routing: skill-group queues ordered by priority, push and pull assignment, transfers, overflow,
callbacks, queue positions and the supervisor's wallboard.

A conversation handed to people (`conversation.queued`) gets a queue entry in its skill group
(`do_ensure_entry`); the router (`route_group`, run by `lingxi.routing.router`) then gives the head of
the queue to an available agent of the group, one assignment per transaction:

    lock the group's row  →  load its available agents with their open chats  →  the first waiting
    entries in priority order  →  choose an agent (sticky, then the group's strategy)  →
    `do_assign`: lock the agent's row, count their chats, compare-and-set the conversation.

The group lock keeps two routers (also in two processes) from serving the same queue at once; the
agent lock and the compare-and-set make a push and an agent's own accept (pull) safe against each
other: no conversation goes to two agents, no agent goes over capacity. A refused step (someone
else was faster) rolls back and the loop tries again with fresh data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents import service as agents
from lingxi.agents.models import STRATEGIES, AgentProfile, AgentSkill, SkillGroup
from lingxi.audit.service import do_record
from lingxi.auth import service as auth
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.db import insert_ignoring_conflicts
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.masking import mask_phone
from lingxi.core.realtime import publish_after_commit
from lingxi.core.timeutil import utcnow
from lingxi.customers import service as customers
from lingxi.routing import priority, service_level
from lingxi.routing.models import CallbackRequest, ConversationNote, QueueEntry
from lingxi.routing.priority import GroupLoad, PriorityRules
from lingxi.routing.strategies import Candidate, Strategy, choose_agent
from lingxi.routing.tickets_seam import WorkOrderDraft, create_work_order
from lingxi.settings import get_settings

DEFAULT_GROUP = "general"
ROUTER = Actor.system("router")
MAX_OVERFLOWS = 3
HEAD_OF_QUEUE = 30  # waiting entries looked at per assignment (later ones may fit an agent's language)
RATE_WINDOW_SECONDS = 1800.0
OFFER_CHANNELS = ("webchat", "app")  # channels whose page shows the callback / message buttons
WALLBOARD = "staff:wallboard"
ROUTING_REQUESTED = "routing.requested"  # event: route these groups soon (payload {"groups": [...]})


def priority_rules() -> PriorityRules:
    settings = get_settings()
    return PriorityRules(
        tier_points=settings.routing_tier_points,
        urgent_points=settings.routing_urgent_points,
        transfer_points=settings.routing_transfer_points,
        ageing_seconds=settings.routing_ageing_seconds,
    )


def bank_day_start(now: datetime) -> datetime:
    """Midnight of the bank's current day (its time zone), in UTC: "today" of the figures."""
    tz = ZoneInfo(get_settings().bank_timezone)
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)


# --- queue entries -----------------------------------------------------------------------------------


async def get_entry(*, session: AsyncSession, conversation: Conversation) -> QueueEntry | None:
    """The entry of the conversation's current (or last) wait in a queue."""
    if conversation.queued_at is None:
        return None
    return await session.scalar(
        select(QueueEntry).where(
            QueueEntry.conversation_id == conversation.id, QueueEntry.queued_at == conversation.queued_at
        )
    )


async def _tier_and_urgency(session: AsyncSession, conversation: Conversation) -> tuple[str | None, bool]:
    handoff = conversation.context.get("handoff")
    handoff = handoff if isinstance(handoff, dict) else {}
    tier = handoff.get("tier")
    if tier is None and conversation.customer_id is not None:
        customer = await customers.get_customer(session=session, customer_id=conversation.customer_id)
        tier = customer.tier if customer is not None else None
    return (str(tier) if tier else None), bool(handoff.get("urgent"))


async def _sticky_agent(session: AsyncSession, conversation: Conversation, now: datetime) -> int | None:
    days = get_settings().routing_sticky_days
    if conversation.customer_id is None or days <= 0:
        return None
    return await conversations.get_last_agent(
        session=session, customer_id=conversation.customer_id, since=now - timedelta(days=days)
    )


async def do_ensure_entry(
    *,
    session: AsyncSession,
    conversation: Conversation,
    kind: str = "handoff",
    excluded_agent_id: int | None = None,
) -> QueueEntry | None:
    """The queue entry of the conversation's current wait, created if missing (idempotent).

    Called by the `conversation.queued` handler and by whoever assigns or ends the wait first (an
    accept can beat the handler); INSERT … ON CONFLICT DO NOTHING makes racing creators agree.
    """
    if conversation.queued_at is None:
        return None
    existing = await get_entry(session=session, conversation=conversation)
    if existing is not None:
        return existing
    now = utcnow()
    rules = priority_rules()
    tier, urgent = await _tier_and_urgency(session, conversation)
    points = priority.points(rules, tier=tier, urgent=urgent, transfer=kind == "transfer")
    group = conversation.skill_group or DEFAULT_GROUP
    await session.execute(
        insert_ignoring_conflicts(
            session, QueueEntry, conflict_columns=["conversation_id", "queued_at"]
        ).values(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            language=conversation.language,
            kind=kind,
            skill_group=group,
            original_group=group,
            tier=tier,
            urgent=urgent,
            points=points,
            queued_at=conversation.queued_at,
            rank_at=priority.rank_at(rules, queued_at=conversation.queued_at, points=points),
            status="waiting",
            preferred_agent_id=await _sticky_agent(session, conversation, now),
            excluded_agent_id=excluded_agent_id,
            overflow_count=0,
        )
    )
    return await get_entry(session=session, conversation=conversation)


def end_wait(
    entry: QueueEntry, status: str, at: datetime, *, agent_id: int | None = None, how: str | None = None
) -> None:
    """The wait ends: answered (by whom, how), abandoned, callback or closed; its length is kept."""
    entry.status = status
    entry.ended_at = at
    entry.wait_seconds = max(0.0, (at - entry.queued_at).total_seconds())
    if status == "answered":
        entry.answered_at, entry.agent_id, entry.assignment = at, agent_id, how


async def list_waiting(*, session: AsyncSession, group: str | None = None) -> Sequence[QueueEntry]:
    """Waiting entries in the order they will be served (per group)."""
    stmt = select(QueueEntry).where(QueueEntry.status == "waiting")
    if group is not None:
        stmt = stmt.where(QueueEntry.skill_group == group)
    stmt = stmt.order_by(QueueEntry.skill_group, QueueEntry.rank_at, QueueEntry.queued_at, QueueEntry.id)
    return (await session.scalars(stmt)).all()


async def get_position(*, session: AsyncSession, entry: QueueEntry) -> int:
    """1 + the waiting entries of the same group served before this one."""
    ahead = await session.scalar(
        select(func.count()).where(
            QueueEntry.status == "waiting",
            QueueEntry.skill_group == entry.skill_group,
            or_(
                QueueEntry.rank_at < entry.rank_at,
                and_(QueueEntry.rank_at == entry.rank_at, QueueEntry.queued_at < entry.queued_at),
                and_(
                    QueueEntry.rank_at == entry.rank_at,
                    QueueEntry.queued_at == entry.queued_at,
                    QueueEntry.id < entry.id,
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


# --- agents available to a group ---------------------------------------------------------------------


@dataclass(slots=True)
class AgentState:
    agent_id: int
    capacity: int
    languages: frozenset[str]
    proficiency: int
    idle_since: datetime
    channel_capacity: dict[str, int]
    loads: dict[str, int] = field(default_factory=dict)

    @property
    def load(self) -> int:
        return sum(self.loads.values())

    def candidate(self, channel: str) -> Candidate:
        cap = self.channel_capacity.get(channel)
        return Candidate(
            agent_id=self.agent_id,
            load=self.load,
            capacity=self.capacity,
            channel_load=self.loads.get(channel, 0),
            channel_capacity=int(cap) if cap is not None else None,
            idle_since=self.idle_since,
            proficiency=self.proficiency,
            languages=self.languages,
        )


def _languages(column: str) -> frozenset[str]:
    return frozenset(part.strip() for part in column.split(",") if part.strip())


async def available_agents(*, session: AsyncSession, group: SkillGroup, now: datetime) -> list[AgentState]:
    """The group's agents who may receive a chat now: online, active, not in wrap-up; with their loads."""
    rows = await session.execute(
        select(
            StaffUser.id,
            StaffUser.max_concurrent_chats,
            StaffUser.languages,
            AgentSkill.proficiency,
            AgentProfile.idle_since,
            AgentProfile.wrap_up_until,
            AgentProfile.channel_capacity,
        )
        .join(AgentSkill, AgentSkill.agent_id == StaffUser.id)
        .join(AgentProfile, AgentProfile.agent_id == StaffUser.id)
        .where(
            AgentSkill.skill_group_id == group.id,
            AgentProfile.presence == "online",
            StaffUser.is_active.is_(True),
            or_(AgentProfile.wrap_up_until.is_(None), AgentProfile.wrap_up_until <= now),
        )
    )
    states = [
        AgentState(
            agent_id=agent_id,
            capacity=capacity,
            languages=_languages(languages),
            proficiency=proficiency,
            # A finished wrap-up counts as the moment the agent became free again.
            idle_since=max(idle_since, wrap_up_until) if wrap_up_until is not None else idle_since,
            channel_capacity=dict(channel_capacity or {}),
        )
        for agent_id, capacity, languages, proficiency, idle_since, wrap_up_until, channel_capacity in rows
    ]
    loads = await conversations.count_open_by_agent(session=session, agent_ids=[s.agent_id for s in states])
    for state in states:
        state.loads = loads.get(state.agent_id, {})
    return states


# --- assignment --------------------------------------------------------------------------------------


def channel_capacity_of(profile: AgentProfile | None, channel: str) -> int | None:
    if profile is None:
        return None
    cap = (profile.channel_capacity or {}).get(channel)
    return int(cap) if cap is not None else None


async def do_assign(
    *, session: AsyncSession, conversation: Conversation, agent: StaffUser, actor: Actor, how: str
) -> None:
    """Give a waiting conversation to `agent` (`how`: pull = the agent accepted, push, sticky).

    Capacity (total and per channel) is counted under the agent's row lock in
    `conversations.do_assign`; its compare-and-set refuses a conversation someone else took.
    """
    profile = await agents.get_profile(session=session, agent_id=agent.id)
    previous = await conversations.do_assign(
        session=session,
        conversation=conversation,
        agent_id=agent.id,
        agent_name=agent.display_name,
        capacity=agent.max_concurrent_chats,
        channel_capacity=channel_capacity_of(profile, conversation.channel),
        actor=actor,
    )
    if previous == "queued":
        entry = await do_ensure_entry(session=session, conversation=conversation)
        if entry is not None and entry.status == "waiting":
            end_wait(entry, "answered", conversation.assigned_at or utcnow(), agent_id=agent.id, how=how)
    await agents.do_note_assignment(session=session, agent_id=agent.id)
    await session.flush()


class RetryRouting(Exception):
    """The state changed under the router (an agent went away meanwhile); try again."""


async def _lock_group(session: AsyncSession, code: str) -> SkillGroup | None:
    # A no-op UPDATE: the group's row lock on PostgreSQL, the write lock on SQLite. Routers of the
    # same group (in any process) take turns; everything read after this is current.
    await session.execute(
        update(SkillGroup)
        .where(SkillGroup.code == code)
        .values(rr_cursor=SkillGroup.rr_cursor)
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(
        select(SkillGroup).where(SkillGroup.code == code).execution_options(populate_existing=True)
    )


async def has_work(*, session: AsyncSession, group_code: str, now: datetime | None = None) -> bool:
    """Read-only: does the group have someone waiting and an available agent with room? The router
    asks before taking the group's lock, so an idle queue costs no write (SQLite has one writer)."""
    now = now or utcnow()
    waiting = await session.scalar(
        select(QueueEntry.id)
        .where(QueueEntry.status == "waiting", QueueEntry.skill_group == group_code)
        .limit(1)
    )
    if waiting is None:
        return False
    group = await agents.get_skill_group_by_code(session=session, code=group_code)
    if group is None:
        return False
    return any(s.load < s.capacity for s in await available_agents(session=session, group=group, now=now))


def _stale(entry: QueueEntry, conversation: Conversation | None) -> bool:
    return (
        conversation is None or conversation.status != "queued" or conversation.queued_at != entry.queued_at
    )


async def _end_stale(session: AsyncSession, entry: QueueEntry, conversation: Conversation | None) -> None:
    """A waiting entry whose conversation moved on without it (answered, closed, queued again)."""
    now = utcnow()
    if conversation is not None and conversation.queued_at == entry.queued_at and conversation.assigned_at:
        end_wait(
            entry, "answered", conversation.assigned_at, agent_id=conversation.assigned_agent_id, how="pull"
        )
    elif (
        conversation is not None
        and conversation.status == "closed"
        and conversation.queued_at == entry.queued_at
    ):
        end_wait(entry, "abandoned", conversation.closed_at or now)
    else:
        end_wait(entry, "closed", now)
    await session.flush()


async def route_once(*, session: AsyncSession, group_code: str, now: datetime | None = None) -> bool:
    """One assignment (or one stale entry cleaned) in the group, in the caller's transaction.

    Returns False when there is nothing to do: no waiting entry an available agent can take.
    """
    now = now or utcnow()
    group = await _lock_group(session, group_code)
    if group is None:
        return False
    entries = (
        await session.scalars(
            select(QueueEntry)
            .where(QueueEntry.status == "waiting", QueueEntry.skill_group == group.code)
            .order_by(QueueEntry.rank_at, QueueEntry.queued_at, QueueEntry.id)
            .limit(HEAD_OF_QUEUE)
        )
    ).all()
    if not entries:
        return False
    states = await available_agents(session=session, group=group, now=now)
    if not any(s.load < s.capacity for s in states):
        return False
    strategy = cast(Strategy, group.strategy if group.strategy in STRATEGIES else "longest_idle")
    for entry in entries:
        conversation = await conversations.get_conversation(
            session=session, conversation_id=entry.conversation_id
        )
        if _stale(entry, conversation):
            await _end_stale(session, entry, conversation)
            return True
        assert conversation is not None
        choice = choose_agent(
            strategy,
            [s.candidate(entry.channel) for s in states],
            language=entry.language,
            preferred_agent_id=entry.preferred_agent_id,
            excluded_agent_id=entry.excluded_agent_id,
            rr_cursor=group.rr_cursor,
        )
        if choice is None:
            continue
        candidate, how = choice
        agent = await auth.access_staff(session=session, staff_id=candidate.agent_id)
        # Presence is changed under the same row lock: re-read it once we hold the lock.
        await auth.lock_staff(session=session, staff_id=agent.id)
        profile = await session.scalar(
            select(AgentProfile)
            .where(AgentProfile.agent_id == agent.id)
            .execution_options(populate_existing=True)
        )
        if (
            profile is None
            or profile.presence != "online"
            or (profile.wrap_up_until is not None and profile.wrap_up_until > now)
        ):
            raise RetryRouting(f"agent {agent.id} is no longer available")
        await do_assign(
            session=session,
            conversation=conversation,
            agent=agent,
            actor=ROUTER,
            how="sticky" if how == "sticky" else "push",
        )
        if how == "round_robin":
            group.rr_cursor = agent.id
        await session.flush()
        return True
    return False


async def list_waiting_groups(*, session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(QueueEntry.skill_group).where(QueueEntry.status == "waiting").distinct()
    )
    return sorted(rows)


# --- customers in the queue --------------------------------------------------------------------------


async def group_load(*, session: AsyncSession, group: SkillGroup, now: datetime) -> GroupLoad:
    """Recent answer rate, free and staffed capacity and handling time: what a wait estimate needs."""
    answered = await session.scalar(
        select(func.count()).where(
            QueueEntry.skill_group == group.code,
            QueueEntry.status == "answered",
            QueueEntry.answered_at >= now - timedelta(seconds=RATE_WINDOW_SECONDS),
        )
    )
    states = await available_agents(session=session, group=group, now=now)
    handled = (
        await session.execute(
            select(Conversation.assigned_at, Conversation.closed_at)
            .where(
                Conversation.skill_group == group.code,
                Conversation.status == "closed",
                Conversation.assigned_at.is_not(None),
                Conversation.closed_at >= now - timedelta(hours=24),
            )
            .limit(500)
        )
    ).all()
    durations = [(closed - assigned).total_seconds() for assigned, closed in handled if assigned and closed]
    handle = (
        sum(durations) / len(durations)
        if len(durations) >= 5
        else float(get_settings().routing_handle_seconds)
    )
    return GroupLoad(
        answered_recently=int(answered or 0),
        window_seconds=RATE_WINDOW_SECONDS,
        free_slots=sum(max(0, s.capacity - s.load) for s in states),
        staffed_slots=sum(s.capacity for s in states),
        handle_seconds=handle,
    )


@dataclass(frozen=True, slots=True)
class QueueView:
    status: str
    skill_group: str | None
    queue_position: int | None
    estimated_wait_seconds: int | None
    waited_seconds: int | None
    callback_offered: bool


async def get_queue_view(*, session: AsyncSession, conversation: Conversation) -> QueueView:
    """What the waiting customer sees: their place, the estimated wait, whether a callback is offered."""
    entry = (
        await get_entry(session=session, conversation=conversation)
        if conversation.status == "queued"
        else None
    )
    if entry is None or entry.status != "waiting":
        return QueueView(conversation.status, conversation.skill_group, None, None, None, False)
    now = utcnow()
    position = await get_position(session=session, entry=entry)
    group = await agents.get_skill_group_by_code(session=session, code=entry.skill_group)
    wait = (
        priority.estimate_wait_seconds(position, await group_load(session=session, group=group, now=now))
        if group is not None
        else None
    )
    return QueueView(
        status=conversation.status,
        skill_group=entry.skill_group,
        queue_position=position,
        estimated_wait_seconds=wait,
        waited_seconds=int((now - entry.queued_at).total_seconds()),
        callback_offered=entry.callback_offered_at is not None,
    )


def queue_status_frame(
    conversation: Conversation, position: int, wait: int | None, offered: bool
) -> dict[str, Any]:
    return {
        **conversations.status_event(conversation),
        "queue_position": position,
        "estimated_wait_seconds": wait,
        "callback_offered": offered,
    }


def _wait_bucket(seconds: int | None) -> int | None:
    """Estimates are announced again only when they move by a step the page shows (30 s)."""
    return None if seconds is None else (seconds + 29) // 30 * 30


async def do_announce_positions(*, session: AsyncSession, now: datetime | None = None) -> int:
    """Send every waiting customer whose place or estimated wait changed the new ones; returns how many."""
    now = now or utcnow()
    waiting = await list_waiting(session=session)
    if not waiting:
        return 0
    by_group: dict[str, list[QueueEntry]] = {}
    for entry in waiting:
        by_group.setdefault(entry.skill_group, []).append(entry)
    groups = {g.code: g for g in await agents.list_skill_groups(session=session)}
    changed: list[tuple[QueueEntry, int, int | None]] = []
    for code, entries in by_group.items():
        group = groups.get(code)
        load = await group_load(session=session, group=group, now=now) if group is not None else None
        for index, entry in enumerate(entries):
            position = index + 1
            wait = _wait_bucket(priority.estimate_wait_seconds(position, load)) if load is not None else None
            if position != entry.announced_position or wait != entry.announced_wait:
                changed.append((entry, position, wait))
    await _announce(session, changed)
    return len(changed)


async def do_announce_entry(*, session: AsyncSession, entry: QueueEntry, now: datetime | None = None) -> None:
    """Tell one waiting customer their place and estimated wait now (a new entry): one count query,
    not the whole queue."""
    now = now or utcnow()
    position = await get_position(session=session, entry=entry)
    group = await agents.get_skill_group_by_code(session=session, code=entry.skill_group)
    wait = (
        _wait_bucket(
            priority.estimate_wait_seconds(position, await group_load(session=session, group=group, now=now))
        )
        if group is not None
        else None
    )
    await _announce(session, [(entry, position, wait)])


async def _announce(session: AsyncSession, changed: Sequence[tuple[QueueEntry, int, int | None]]) -> None:
    if not changed:
        return
    ids = [entry.conversation_id for entry, _, _ in changed]
    by_id = {
        c.id: c for c in (await session.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()
    }
    for entry, position, wait in changed:
        entry.announced_position, entry.announced_wait = position, wait
        conversation = by_id.get(entry.conversation_id)
        if conversation is not None and conversation.status == "queued":
            publish_after_commit(
                session,
                f"conv:{conversation.public_id}",
                queue_status_frame(conversation, position, wait, entry.callback_offered_at is not None),
            )
    await session.flush()


# --- after the maximum wait: overflow or offer a callback --------------------------------------------


async def do_process_timeouts(*, session: AsyncSession, now: datetime | None = None) -> set[str]:
    """Entries waiting longer than their group's maximum move to its overflow group (up to 3 times,
    keeping their place in time), or, without one, are offered a callback or a message once.

    Returns the groups that received entries (to be routed now).
    """
    now = now or utcnow()
    groups = {g.code: g for g in await agents.list_skill_groups(session=session)}
    routed: set[str] = set()
    for entry in await list_waiting(session=session):
        group = groups.get(entry.skill_group)
        if group is None:
            continue
        entered = entry.overflowed_at or entry.queued_at
        if (now - entered).total_seconds() < group.max_wait_seconds:
            continue
        target = groups.get(group.overflow_group or "")
        if target is not None and entry.overflow_count < MAX_OVERFLOWS:
            moved = await session.execute(
                update(QueueEntry)
                .where(
                    QueueEntry.id == entry.id,
                    QueueEntry.status == "waiting",
                    QueueEntry.skill_group == group.code,
                )
                .values(
                    skill_group=target.code,
                    overflow_count=QueueEntry.overflow_count + 1,
                    overflowed_at=now,
                    announced_position=None,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == entry.conversation_id, Conversation.status == "queued")
                    .values(skill_group=target.code)
                    .execution_options(synchronize_session=False)
                )
                do_record(
                    session=session,
                    actor=ROUTER,
                    action="queue.overflow",
                    subject_type="conversation",
                    subject_id=entry.conversation_id,
                    before={"skill_group": group.code},
                    after={
                        "skill_group": target.code,
                        "waited_seconds": int((now - entry.queued_at).total_seconds()),
                    },
                )
                routed.add(target.code)
            continue
        if (
            group.timeout_action == "callback"
            and entry.callback_offered_at is None
            and entry.channel in OFFER_CHANNELS
        ):
            offered = await session.execute(
                update(QueueEntry)
                .where(
                    QueueEntry.id == entry.id,
                    QueueEntry.status == "waiting",
                    QueueEntry.callback_offered_at.is_(None),
                )
                .values(callback_offered_at=now)
                .execution_options(synchronize_session=False)
            )
            if offered.rowcount == 1:  # type: ignore[attr-defined]
                await _offer_callback(session, entry)
    await session.flush()
    return routed


async def _offer_callback(session: AsyncSession, entry: QueueEntry) -> None:
    conversation = await conversations.get_conversation(
        session=session, conversation_id=entry.conversation_id
    )
    if conversation is None or conversation.status != "queued":
        return
    english = conversation.language.startswith("en")
    await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="System" if english else "系统",
        content=(
            "All our agents are busy. You can keep waiting, ask us to call you back, or leave a message"
            " and we will reply soon."
            if english
            else "当前咨询人数较多，您可以继续等待，也可以选择预约回电或留言，我们会尽快联系您。"
        ),
        payload={"event": "queue_offer", "actions": ["callback", "message", "wait"]},
    )


# --- the customer leaves the queue, or asks for a callback / leaves a message ------------------------


async def do_leave_queue(
    *, session: AsyncSession, conversation: Conversation, actor: Actor
) -> QueueEntry | None:
    """The customer stops waiting: an abandon (short if under the short-abandon threshold)."""
    await conversations.lock_conversation(session=session, conversation=conversation)
    if conversation.status != "queued":
        raise Conflict("The conversation is not waiting in a queue.", code="not_queued")
    entry = await do_ensure_entry(session=session, conversation=conversation)
    now = utcnow()
    if entry is not None and entry.status == "waiting":
        end_wait(entry, "abandoned", now)
    await conversations.do_close(
        session=session, conversation=conversation, outcome="abandoned_in_queue", actor=actor
    )
    return entry


async def do_request_callback(
    *,
    session: AsyncSession,
    conversation: Conversation,
    kind: str,
    phone: str | None,
    message: str | None,
    actor: Actor,
) -> CallbackRequest:
    """Instead of waiting: a call back (to the registered or a given mobile) or a message, which
    becomes a work order for a known customer (`tickets_seam`); the chat closes."""
    if kind not in ("callback", "message"):
        raise ValidationFailed("Choose 'callback' or 'message'.", code="bad_callback_kind")
    await conversations.lock_conversation(session=session, conversation=conversation)
    if conversation.status != "queued":
        raise Conflict("The conversation is not waiting in a queue.", code="not_queued")
    customer = (
        await customers.get_customer(session=session, customer_id=conversation.customer_id)
        if conversation.customer_id is not None
        else None
    )
    if phone is not None:
        phone = customers.normalize_contact("phone", phone)
    if kind == "callback":
        phone = phone or (customer.phone if customer is not None else None)
        if not phone:
            raise ValidationFailed("Give a mobile number to call you back on.", code="phone_required")
    if kind == "message" and not (message and message.strip()):
        raise ValidationFailed("Write the message you want to leave.", code="message_required")
    entry = await do_ensure_entry(session=session, conversation=conversation)
    now = utcnow()
    group = entry.skill_group if entry is not None else (conversation.skill_group or DEFAULT_GROUP)
    if entry is not None and entry.status == "waiting":
        end_wait(entry, "callback", now)
    request = CallbackRequest(
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        skill_group=group,
        kind=kind,
        phone=phone,
        message=message.strip() if message else None,
    )
    session.add(request)
    await session.flush()
    reference = await create_work_order(
        session=session,
        draft=WorkOrderDraft(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            kind=kind,
            skill_group=group,
            phone=phone,
            message=request.message,
            channel=conversation.channel,
            intent=conversation.intent,
            english=conversation.language.startswith("en"),
        ),
        actor=actor,
    )
    if reference is not None:
        request.status, request.ticket_reference = "ticketed", reference
    do_record(
        session=session,
        actor=actor,
        action="queue.callback_request",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"kind": kind, "phone": phone, "skill_group": group, "ticket": reference},
    )
    english = conversation.language.startswith("en")
    masked = mask_phone(phone) if phone else None
    if kind == "callback":
        text = (
            f"We will call you back on {masked} as soon as an agent is free."
            if english
            else f"已为您登记回电，客服空闲后将尽快致电 {masked}。"
        )
    else:
        text = (
            "Your message has been recorded; we will reply soon."
            if english
            else "您的留言已记录，我们会尽快回复您。"
        )
    await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="System" if english else "系统",
        content=text,
        payload={"event": "callback_requested", "kind": kind},
    )
    await conversations.do_close(
        session=session,
        conversation=conversation,
        outcome="callback_requested" if kind == "callback" else "message_left",
        actor=actor,
    )
    emit(
        session, "routing.callback_requested", {"conversation_id": conversation.id, "request_id": request.id}
    )
    publish_after_commit(session, WALLBOARD, {"type": "callback", "request_id": request.id})
    return request


# --- agents' actions: accept, close, transfer, invite ------------------------------------------------


async def do_close_by_agent(
    *, session: AsyncSession, conversation: Conversation, agent: StaffUser, actor: Actor
) -> None:
    """The agent ends the chat: the customer is asked for a score, the agent's wrap-up time starts."""
    await conversations.do_close(
        session=session, conversation=conversation, outcome="resolved_by_agent", actor=actor
    )
    await agents.do_offer_survey(session=session, conversation=conversation)
    await agents.do_start_wrap_up(session=session, agent_id=agent.id)
    await _resolve_invites(session, conversation)


def _agent_may_take_chats(user: StaffUser) -> bool:
    return user.is_active and role_has(user.role, Perm.CHAT_HANDLE)


async def _add_note(
    session: AsyncSession,
    *,
    conversation: Conversation,
    kind: str,
    author: StaffUser,
    text: str,
    to_agent_id: int | None = None,
    to_group: str | None = None,
    notify: Sequence[int] = (),
) -> ConversationNote:
    note = ConversationNote(
        conversation_id=conversation.id,
        kind=kind,
        author_id=author.id,
        author_name=author.display_name,
        to_agent_id=to_agent_id,
        to_group=to_group,
        text=text,
    )
    session.add(note)
    await session.flush()
    channels = ["staff:monitor", *(f"agent:{agent_id}" for agent_id in dict.fromkeys(notify))]
    if kind == "invite":
        channels.append(WALLBOARD)
    publish_after_commit(
        session,
        channels,
        {"type": "note", "conversation_id": conversation.public_id, "note": note_dict(note)},
    )
    return note


def note_dict(note: ConversationNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind,
        "author_id": note.author_id,
        "author_name": note.author_name,
        "to_agent_id": note.to_agent_id,
        "to_group": note.to_group,
        "text": note.text,
        "created_at": note.created_at.isoformat(),
        "resolved_at": note.resolved_at.isoformat() if note.resolved_at else None,
    }


async def list_notes(*, session: AsyncSession, conversation: Conversation) -> Sequence[ConversationNote]:
    return (
        await session.scalars(
            select(ConversationNote)
            .where(ConversationNote.conversation_id == conversation.id)
            .order_by(ConversationNote.id)
        )
    ).all()


async def do_transfer_to_agent(
    *,
    session: AsyncSession,
    conversation: Conversation,
    from_agent: StaffUser,
    to_agent: StaffUser,
    note: str,
    actor: Actor,
) -> ConversationNote:
    """Hand the chat to a colleague who is online and has room, with a note only staff see."""
    if not _agent_may_take_chats(to_agent):
        raise ValidationFailed(f"{to_agent.display_name} does not handle chats.", code="not_an_agent")
    profile = await agents.get_profile(session=session, agent_id=to_agent.id)
    if profile is None or profile.presence != "online":
        raise Conflict(f"{to_agent.display_name} is not online.", code="agent_unavailable")
    english = conversation.language.startswith("en")
    await conversations.do_reassign(
        session=session,
        conversation=conversation,
        from_agent_id=from_agent.id,
        to_agent_id=to_agent.id,
        to_agent_name=to_agent.display_name,
        capacity=to_agent.max_concurrent_chats,
        channel_capacity=channel_capacity_of(profile, conversation.channel),
        notice=f"You have been transferred to {to_agent.display_name}."
        if english
        else f"已为您转接至客服 {to_agent.display_name}，请稍候。",
        actor=actor,
    )
    await agents.do_note_assignment(session=session, agent_id=to_agent.id)
    emit(session, agents.AGENT_AVAILABLE, {"agent_id": from_agent.id})  # a slot of theirs is free again
    return await _add_note(
        session,
        conversation=conversation,
        kind="transfer",
        author=from_agent,
        text=note,
        to_agent_id=to_agent.id,
        notify=(to_agent.id, from_agent.id),
    )


async def do_transfer_to_group(
    *,
    session: AsyncSession,
    conversation: Conversation,
    from_agent: StaffUser,
    group: SkillGroup,
    note: str,
    actor: Actor,
) -> ConversationNote:
    """Back to a group's queue, ahead by the transfer points, never routed back to the same agent."""
    english = conversation.language.startswith("en")
    await conversations.do_requeue(
        session=session,
        conversation=conversation,
        from_agent_id=from_agent.id,
        skill_group=group.code,
        reason="transfer",
        notice=f"Transferring you to {group.name_en}, please hold on."
        if english
        else f"正在为您转接至「{group.name_zh}」，请稍候。",
        actor=actor,
    )
    await do_ensure_entry(
        session=session, conversation=conversation, kind="transfer", excluded_agent_id=from_agent.id
    )
    emit(session, agents.AGENT_AVAILABLE, {"agent_id": from_agent.id})
    return await _add_note(
        session,
        conversation=conversation,
        kind="transfer",
        author=from_agent,
        text=note,
        to_group=group.code,
        notify=(from_agent.id,),
    )


async def do_invite_supervisor(
    *, session: AsyncSession, conversation: Conversation, agent: StaffUser, text: str, actor: Actor
) -> ConversationNote:
    """The agent asks a supervisor to look at the chat (listed on the wallboard until answered)."""
    if conversation.status != "assigned" or conversation.assigned_agent_id != agent.id:
        raise Conflict("Invite a supervisor to a chat you are handling.", code="not_assigned_to_you")
    note = await _add_note(
        session, conversation=conversation, kind="invite", author=agent, text=text, notify=(agent.id,)
    )
    do_record(
        session=session,
        actor=actor,
        action="conversation.invite_supervisor",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"note": text},
    )
    return note


async def _resolve_invites(session: AsyncSession, conversation: Conversation) -> None:
    await session.execute(
        update(ConversationNote)
        .where(
            ConversationNote.conversation_id == conversation.id,
            ConversationNote.kind == "invite",
            ConversationNote.resolved_at.is_(None),
        )
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --- supervisors: whisper, take over -----------------------------------------------------------------


async def do_whisper(
    *, session: AsyncSession, conversation: Conversation, supervisor: StaffUser, text: str, actor: Actor
) -> ConversationNote:
    """A note to the agent handling the chat; the customer never sees it."""
    if conversation.status != "assigned" or conversation.assigned_agent_id is None:
        raise Conflict("Whisper to the agent of a chat in progress.", code="not_assigned")
    note = await _add_note(
        session,
        conversation=conversation,
        kind="whisper",
        author=supervisor,
        text=text,
        to_agent_id=conversation.assigned_agent_id,
        notify=(conversation.assigned_agent_id,),
    )
    await _resolve_invites(session, conversation)
    do_record(
        session=session,
        actor=actor,
        action="conversation.whisper",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"to_agent_id": conversation.assigned_agent_id},
    )
    return note


async def do_take_over(
    *, session: AsyncSession, conversation: Conversation, supervisor: StaffUser, actor: Actor
) -> None:
    """The supervisor takes the chat: from the queue, or from the agent handling it (within capacity)."""
    if conversation.status == "closed":
        raise Conflict("The conversation is closed.", code="conversation_closed")
    if conversation.status in ("bot", "queued"):
        await do_assign(session=session, conversation=conversation, agent=supervisor, actor=actor, how="pull")
    elif conversation.assigned_agent_id != supervisor.id:
        previous = conversation.assigned_agent_id
        assert previous is not None
        profile = await agents.get_profile(session=session, agent_id=supervisor.id)
        english = conversation.language.startswith("en")
        await conversations.do_reassign(
            session=session,
            conversation=conversation,
            from_agent_id=previous,
            to_agent_id=supervisor.id,
            to_agent_name=supervisor.display_name,
            capacity=supervisor.max_concurrent_chats,
            channel_capacity=channel_capacity_of(profile, conversation.channel),
            notice=f"Supervisor {supervisor.display_name} is now helping you."
            if english
            else f"主管 {supervisor.display_name} 已接入，为您继续服务。",
            actor=actor,
        )
        emit(session, agents.AGENT_AVAILABLE, {"agent_id": previous})
    await _resolve_invites(session, conversation)


# --- the wallboard -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupBoard:
    code: str
    name_zh: str
    name_en: str
    strategy: str
    service_level_seconds: int
    max_wait_seconds: int
    overflow_group: str | None
    waiting: int
    longest_wait_seconds: int | None
    agents_available: int
    agents_online: int
    free_slots: int
    today: service_level.ServiceLevel


@dataclass(frozen=True, slots=True)
class AgentBoard:
    id: int
    display_name: str
    role: str
    presence: str
    reason: str | None
    since: datetime | None
    state: str  # available | full | wrap_up | busy | away | offline
    load: int
    capacity: int
    wrap_up_until: datetime | None
    groups: list[str]


@dataclass(frozen=True, slots=True)
class Wallboard:
    at: datetime
    groups: list[GroupBoard]
    agents: list[AgentBoard]
    agents_by_state: dict[str, int]
    waiting: int
    longest_wait_seconds: int | None
    today: service_level.ServiceLevel
    callbacks: list[CallbackRequest]
    invites: list[tuple[ConversationNote, str]]  # with the conversation's public id


async def ended_waits_since(
    *, session: AsyncSession, since: datetime, thresholds: dict[str, int]
) -> dict[str, list[service_level.EndedWait]]:
    """The waits that ended since `since`, per group, as the service-level arithmetic takes them."""
    rows = await session.execute(
        select(QueueEntry.skill_group, QueueEntry.status, QueueEntry.wait_seconds).where(
            QueueEntry.ended_at >= since, QueueEntry.status.in_(("answered", "abandoned", "callback"))
        )
    )
    default = 20
    waits: dict[str, list[service_level.EndedWait]] = {}
    for group, status, wait in rows:
        waits.setdefault(group, []).append(
            service_level.EndedWait(
                outcome=cast(service_level.Outcome, status),
                wait_seconds=float(wait or 0.0),
                threshold_seconds=thresholds.get(group, default),
            )
        )
    return waits


async def build_wallboard(*, session: AsyncSession, now: datetime | None = None) -> Wallboard:
    now = now or utcnow()
    short = get_settings().routing_short_abandon_seconds
    groups = list(await agents.list_skill_groups(session=session))
    thresholds = {g.code: g.service_level_seconds for g in groups}
    waits = await ended_waits_since(session=session, since=bank_day_start(now), thresholds=thresholds)
    waiting_rows = (
        await session.execute(
            select(QueueEntry.skill_group, func.count(), func.min(QueueEntry.queued_at))
            .where(QueueEntry.status == "waiting")
            .group_by(QueueEntry.skill_group)
        )
    ).all()
    waiting = {group: (int(n), oldest) for group, n, oldest in waiting_rows}

    staff = [
        u
        for u in await auth.list_staff(session=session)
        if u.is_active and role_has(u.role, Perm.CHAT_HANDLE)
    ]
    ids = [u.id for u in staff]
    profiles = {
        p.agent_id: p
        for p in (await session.scalars(select(AgentProfile).where(AgentProfile.agent_id.in_(ids)))).all()
    }
    loads = await conversations.count_open_by_agent(session=session, agent_ids=ids)
    skill_rows = await session.execute(
        select(AgentSkill.agent_id, SkillGroup.code).join(
            SkillGroup, SkillGroup.id == AgentSkill.skill_group_id
        )
    )
    groups_of: dict[int, list[str]] = {}
    for agent_id, code in skill_rows:
        groups_of.setdefault(int(agent_id), []).append(code)
    boards: list[AgentBoard] = []
    for user in staff:
        profile = profiles.get(user.id)
        load = sum(loads.get(user.id, {}).values())
        boards.append(
            AgentBoard(
                id=user.id,
                display_name=user.display_name,
                role=user.role,
                presence=profile.presence if profile else "offline",
                reason=profile.presence_reason if profile else None,
                since=profile.presence_since if profile else None,
                state=agents.agent_state(profile, load, user.max_concurrent_chats, now),
                load=load,
                capacity=user.max_concurrent_chats,
                wrap_up_until=profile.wrap_up_until
                if profile and profile.wrap_up_until and profile.wrap_up_until > now
                else None,
                groups=sorted(groups_of.get(user.id, [])),
            )
        )
    by_state = dict.fromkeys(agents.STATES, 0)
    for board in boards:
        by_state[board.state] += 1

    group_boards: list[GroupBoard] = []
    for group in groups:
        n, oldest = waiting.get(group.code, (0, None))
        members = [b for b in boards if group.code in b.groups]
        online = [b for b in members if b.state in ("available", "full", "wrap_up")]
        available = [b for b in members if b.state == "available"]
        group_boards.append(
            GroupBoard(
                code=group.code,
                name_zh=group.name_zh,
                name_en=group.name_en,
                strategy=group.strategy,
                service_level_seconds=group.service_level_seconds,
                max_wait_seconds=group.max_wait_seconds,
                overflow_group=group.overflow_group,
                waiting=n,
                longest_wait_seconds=int((now - oldest).total_seconds()) if oldest else None,
                agents_available=len(available),
                agents_online=len(online),
                free_slots=sum(max(0, b.capacity - b.load) for b in available),
                today=service_level.compute(waits.get(group.code, []), short_abandon_seconds=short),
            )
        )
    oldest_all = [oldest for _, oldest in waiting.values() if oldest is not None]
    callbacks = (
        await session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.status != "done")
            .order_by(CallbackRequest.created_at.desc())
            .limit(20)
        )
    ).all()
    invite_rows = (
        await session.execute(
            select(ConversationNote, Conversation.public_id)
            .join(Conversation, Conversation.id == ConversationNote.conversation_id)
            .where(
                ConversationNote.kind == "invite",
                ConversationNote.resolved_at.is_(None),
                Conversation.status == "assigned",
            )
            .order_by(ConversationNote.id.desc())
            .limit(20)
        )
    ).all()
    return Wallboard(
        at=now,
        groups=group_boards,
        agents=sorted(boards, key=lambda b: (agents.STATES.index(b.state), b.display_name)),
        agents_by_state=by_state,
        waiting=sum(n for n, _ in waiting.values()),
        longest_wait_seconds=int((now - min(oldest_all)).total_seconds()) if oldest_all else None,
        today=service_level.compute(
            (w for group_waits in waits.values() for w in group_waits), short_abandon_seconds=short
        ),
        callbacks=list(callbacks),
        invites=[(note, public_id) for note, public_id in invite_rows],
    )


async def access_callback(*, session: AsyncSession, request_id: int) -> CallbackRequest:
    request = await session.get(CallbackRequest, request_id)
    if request is None:
        raise NotFound("No such callback request.", code="callback_not_found")
    return request


async def do_complete_callback(
    *, session: AsyncSession, request: CallbackRequest, actor: Actor
) -> CallbackRequest:
    """A supervisor marks a callback or message as dealt with (until work orders take them over)."""
    if request.status == "done":
        return request
    before = {"status": request.status}
    request.status = "done"
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="queue.callback_done",
        subject_type="callback_request",
        subject_id=request.id,
        before=before,
        after={"status": "done"},
    )
    publish_after_commit(session, WALLBOARD, {"type": "callback", "request_id": request.id})
    return request
