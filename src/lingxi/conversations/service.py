"""Conversation lifecycle (bot → queued → assigned → closed), messages and the customer timeline.

Every stored message is announced on realtime channels after commit:
  conv:<public_id>     the customer's sockets of that conversation
  agent:<staff_id>     the assigned agent's sockets
  staff:queue          every agent: conversations entering or leaving the queue
  staff:monitor        supervisors: every message and status change
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from lingxi.audit.service import do_record
from lingxi.auth import service as auth
from lingxi.conversations.models import Conversation, Message, StoredMessage
from lingxi.conversations.schemas import (
    AgentBrief,
    ConversationSummary,
    CustomerBrief,
    HandoffBrief,
    MessageRead,
)
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.realtime import publish_after_commit
from lingxi.core.timeutil import utcnow
from lingxi.settings import get_settings

OPEN_STATUSES = ("bot", "queued", "assigned")
LEVEL_ORDER = {"L0": 0, "L1": 1, "L2": 2}
BOT_NAME = "灵犀助手"


# --- reading -----------------------------------------------------------------------------------------


async def get_conversation(*, session: AsyncSession, conversation_id: int) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def access_conversation_by_public_id(*, session: AsyncSession, public_id: str) -> Conversation:
    conversation = await session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    if conversation is None:
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation


async def access_for_staff(
    *, session: AsyncSession, public_id: str, staff_id: int, monitor: bool
) -> Conversation:
    """A conversation as a staff member may see it: an agent sees the ones assigned to them (also
    after closing) and the waiting ones (bot/queued); a monitor (supervisor) sees all. Else 404."""
    conversation = await access_conversation_by_public_id(session=session, public_id=public_id)
    if not (
        monitor or conversation.assigned_agent_id == staff_id or conversation.status in ("bot", "queued")
    ):
        raise NotFound("No such conversation.", code="conversation_not_found")
    return conversation


async def access_for_chat(*, session: AsyncSession, conversation_id: int, public_id: str) -> Conversation:
    """The conversation a customer's chat session names (404 if it no longer exists)."""
    conversation = await get_conversation(session=session, conversation_id=conversation_id)
    if conversation is None or conversation.public_id != public_id:
        raise NotFound("This chat no longer exists; reopen the chat.", code="conversation_not_found")
    return conversation


async def list_messages(
    *, session: AsyncSession, conversation_id: int, after_id: int = 0, limit: int = 200
) -> Sequence[Message]:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def list_recent_messages(
    *, session: AsyncSession, conversation_id: int, limit: int = 20
) -> list[Message]:
    """The last `limit` messages of a conversation, oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(stmt)).all()))


async def list_idle_bot_conversations(
    *, session: AsyncSession, before: datetime, limit: int
) -> Sequence[Conversation]:
    """Conversations with the bot whose last message is older than `before` (ix_conversations_status);
    on PostgreSQL rows another sweeper holds are skipped."""
    stmt = (
        select(Conversation)
        .where(Conversation.status == "bot", Conversation.last_message_at < before)
        .order_by(Conversation.last_message_at)
        .limit(limit)
    )
    if not get_settings().is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    return (await session.scalars(stmt)).all()


async def get_last_messages(*, session: AsyncSession, conversation_ids: Sequence[int]) -> dict[int, Message]:
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
    )
    rows = await session.scalars(select(Message).where(Message.id.in_(newest)))
    return {m.conversation_id: m for m in rows}


async def list_conversations(
    *,
    session: AsyncSession,
    statuses: Sequence[str] | None = None,
    agent_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 100,
) -> Sequence[Conversation]:
    stmt = select(Conversation).order_by(Conversation.last_message_at.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(Conversation.status.in_(statuses))
    if agent_id is not None:
        stmt = stmt.where(Conversation.assigned_agent_id == agent_id)
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == customer_id)
    return (await session.scalars(stmt)).all()


async def count_open_assigned(*, session: AsyncSession, agent_id: int, channel: str | None = None) -> int:
    stmt = select(func.count()).where(
        Conversation.assigned_agent_id == agent_id, Conversation.status == "assigned"
    )
    if channel is not None:
        stmt = stmt.where(Conversation.channel == channel)
    return int(await session.scalar(stmt) or 0)


async def count_open_by_agent(
    *, session: AsyncSession, agent_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Open (assigned) chats per agent and channel: {agent_id: {channel: n}} (agents with none omitted)."""
    if not agent_ids:
        return {}
    rows = await session.execute(
        select(Conversation.assigned_agent_id, Conversation.channel, func.count())
        .where(Conversation.assigned_agent_id.in_(list(agent_ids)), Conversation.status == "assigned")
        .group_by(Conversation.assigned_agent_id, Conversation.channel)
    )
    loads: dict[int, dict[str, int]] = {}
    for agent_id, channel, n in rows:
        if agent_id is not None:
            loads.setdefault(int(agent_id), {})[channel] = int(n)
    return loads


async def get_last_agent(*, session: AsyncSession, customer_id: int, since: datetime) -> int | None:
    """The agent of the customer's most recent conversation (any channel) with a person since `since`."""
    stmt = (
        select(Conversation.assigned_agent_id)
        .where(
            Conversation.customer_id == customer_id,
            Conversation.assigned_agent_id.is_not(None),
            Conversation.assigned_at >= since,
        )
        .order_by(Conversation.assigned_at.desc())
        .limit(1)
    )
    agent_id = await session.scalar(stmt)
    return int(agent_id) if agent_id is not None else None


async def list_customer_timeline(
    *, session: AsyncSession, customer_id: int, before: datetime | None = None, limit: int = 20
) -> list[tuple[Conversation, list[Message]]]:
    """The customer's conversations on every channel, newest first, each with its messages."""
    stmt = (
        select(Conversation)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.started_at.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(Conversation.started_at < before)
    conversations = list((await session.scalars(stmt)).all())
    if not conversations:
        return []
    rows = await session.scalars(
        select(Message).where(Message.conversation_id.in_([c.id for c in conversations])).order_by(Message.id)
    )
    by_conversation: dict[int, list[Message]] = {c.id: [] for c in conversations}
    for message in rows:
        by_conversation[message.conversation_id].append(message)
    return [(c, by_conversation[c.id]) for c in conversations]


async def get_last_customer_message_at(
    *, session: AsyncSession, customer_id: int, channel: str
) -> datetime | None:
    """When the customer last wrote on `channel` (WeChat allows service messages for 48 hours after)."""
    stmt = select(func.max(Message.created_at)).where(
        Message.customer_id == customer_id, Message.channel == channel, Message.sender_type == "customer"
    )
    return await session.scalar(stmt)


# --- opening -------------------------------------------------------------------------------------


async def get_or_open_conversation(
    *,
    session: AsyncSession,
    channel: str,
    customer_id: int | None = None,
    visitor_id: str | None = None,
    channel_user_id: str | None = None,
    language: str = "zh-CN",
    verification_level: str = "L0",
) -> tuple[Conversation, bool]:
    """The open conversation of this customer (or visitor / channel user) on this channel, or a new one."""
    if customer_id is None and visitor_id is None and channel_user_id is None:
        raise ValidationFailed("A conversation needs a customer, a visitor or a channel user.")
    stmt = select(Conversation).where(Conversation.channel == channel, Conversation.status.in_(OPEN_STATUSES))
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == customer_id)
    elif channel_user_id is not None:
        stmt = stmt.where(Conversation.channel_user_id == channel_user_id)
    else:
        stmt = stmt.where(Conversation.visitor_id == visitor_id, Conversation.customer_id.is_(None))
    existing = await session.scalar(stmt.order_by(Conversation.id.desc()).limit(1))
    if existing is not None:
        if LEVEL_ORDER[verification_level] > LEVEL_ORDER[existing.verification_level]:
            existing.verification_level = verification_level
        return existing, False
    conversation = Conversation(
        public_id=str(uuid.uuid4()),
        channel=channel,
        customer_id=customer_id,
        visitor_id=visitor_id,
        channel_user_id=channel_user_id,
        language=language,
        verification_level=verification_level,
        context={},
    )
    session.add(conversation)
    await session.flush()
    emit(
        session,
        "conversation.opened",
        {"conversation_id": conversation.id, "channel": channel, "customer_id": customer_id},
    )
    return conversation, True


async def do_attach_customer(
    *, session: AsyncSession, conversation: Conversation, customer_id: int, level: str, actor: Actor
) -> None:
    """An anonymous conversation becomes a known customer's (after log-in or WeChat binding)."""
    if conversation.customer_id not in (None, customer_id):
        raise Conflict("This conversation already belongs to another customer.")
    before = {"customer_id": conversation.customer_id, "verification_level": conversation.verification_level}
    conversation.customer_id = customer_id
    await session.execute(
        update(Message).where(Message.conversation_id == conversation.id).values(customer_id=customer_id)
    )
    await do_set_verification_level(session=session, conversation=conversation, level=level)
    do_record(
        session=session,
        actor=actor,
        action="conversation.identify",
        subject_type="conversation",
        subject_id=conversation.id,
        before=before,
        after={"customer_id": customer_id, "verification_level": conversation.verification_level},
    )


async def do_set_verification_level(*, session: AsyncSession, conversation: Conversation, level: str) -> None:
    """Raise (never lower) the level the conversation has reached, and tell whoever is watching."""
    if LEVEL_ORDER[level] <= LEVEL_ORDER[conversation.verification_level]:
        return
    conversation.verification_level = level
    await session.flush()
    _publish_status(session, conversation)


# --- messages ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class MessageDraft:
    """A message to store; `client_msg_id` makes a repeat of the same message a no-op."""

    conversation: Conversation
    sender_type: str
    content: str
    sender_id: str | None = None
    sender_name: str | None = None
    client_msg_id: str | None = None
    content_type: str = "text"
    payload: dict[str, Any] | None = None


def _build_insert_messages(insert: Any) -> Any:
    table = cast(Table, Message.__table__)
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_msg_id"])
        .returning(*table.c)
    )


# The live chat path stores a batch of messages many times a second: its statements are built once
# (building one, and its cache key, costs more CPU than executing it on a small batch).
_INSERT_MESSAGES = {
    "postgresql": _build_insert_messages(pg_insert),
    "sqlite": _build_insert_messages(sqlite_insert),
}
_TOUCH_CONVERSATIONS = (
    update(Conversation)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .values(last_message_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def _insert_messages_stmt(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING every column, executed with a list of rows
    (insertmanyvalues: one statement per batch)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return _INSERT_MESSAGES["postgresql" if dialect == "postgresql" else "sqlite"]


def check_message(draft: MessageDraft) -> None:
    max_chars = get_settings().max_message_chars
    if len(draft.content) > max_chars:
        raise ValidationFailed(
            f"Message too long: {len(draft.content)} characters, at most {max_chars}.",
            code="message_too_long",
        )
    if draft.content_type == "text" and not draft.content.strip():
        raise ValidationFailed("Message is empty.", code="message_empty")
    if draft.conversation.status == "closed" and draft.sender_type in ("agent", "bot"):
        raise Conflict("The conversation is closed.", code="conversation_closed")


async def do_add_messages(
    *, session: AsyncSession, drafts: Sequence[MessageDraft]
) -> list[tuple[StoredMessage, bool]]:
    """Store messages with one multi-row INSERT; returns (message, created) per draft, in order.

    `INSERT … ON CONFLICT (conversation_id, client_msg_id) DO NOTHING RETURNING` means a repeated
    client_msg_id (a retry, a duplicate delivery) stores nothing and gets the stored message back,
    also when the repeats race each other; no savepoint is needed.
    """
    for draft in drafts:
        check_message(draft)
    now = utcnow()
    # Repeats inside the batch itself are answered from the first occurrence.
    first_of: dict[tuple[int, str], int] = {}
    rows: list[dict[str, Any]] = []
    row_of_draft: list[int] = []
    for draft in drafts:
        key = (draft.conversation.id, draft.client_msg_id) if draft.client_msg_id is not None else None
        if key is not None and key in first_of:
            row_of_draft.append(first_of[key])
            continue
        if key is not None:
            first_of[key] = len(rows)
        row_of_draft.append(len(rows))
        conversation = draft.conversation
        rows.append(
            {
                "conversation_id": conversation.id,
                "customer_id": conversation.customer_id,
                "channel": conversation.channel,
                "direction": "in" if draft.sender_type == "customer" else "out",
                "sender_type": draft.sender_type,
                "sender_id": draft.sender_id,
                "sender_name": draft.sender_name,
                "content_type": draft.content_type,
                "content": draft.content,
                "payload": draft.payload,
                "client_msg_id": draft.client_msg_id,
                "created_at": now,
            }
        )
    returned = [
        StoredMessage(**r._mapping) for r in await session.execute(_insert_messages_stmt(session), rows)
    ]
    new_by_key = {(m.conversation_id, m.client_msg_id): m for m in returned if m.client_msg_id is not None}
    # Rows without a client id come back in VALUES order (ids are assigned in that order).
    anonymous = iter(sorted((m for m in returned if m.client_msg_id is None), key=lambda m: m.id))
    stored: list[tuple[StoredMessage, bool]] = []
    for row in rows:
        key = (row["conversation_id"], row["client_msg_id"])
        new = next(anonymous) if row["client_msg_id"] is None else new_by_key.get(key)
        if new is not None:
            stored.append((new, True))
            continue
        existing = await session.scalar(
            select(Message).where(Message.conversation_id == key[0], Message.client_msg_id == key[1])
        )
        assert existing is not None  # the conflict that skipped our row is this committed message
        stored.append((StoredMessage.of(existing), False))
    results: list[tuple[StoredMessage, bool]] = []
    announced: set[int] = set()
    touched: dict[int, Conversation] = {}
    for draft, row_index in zip(drafts, row_of_draft, strict=True):
        message, created = stored[row_index]
        is_new = created and row_index not in announced
        announced.add(row_index)
        results.append((message, is_new))
        if is_new:
            conversation = draft.conversation
            touched[conversation.id] = conversation
            if conversation.status == "closed" and draft.sender_type == "customer":
                # A customer writing into a closed conversation reopens the bot stage on the same thread.
                conversation.status, conversation.closed_at = "bot", None
            _publish_message(session, conversation, message)
            if draft.sender_type != "customer":
                # Channels that deliver out of band (WeChat customer-service messages, SMS) react to it.
                emit(
                    session,
                    "conversation.message_added",
                    {
                        "conversation_id": conversation.id,
                        "message_id": message.id,
                        "channel": conversation.channel,
                        "sender_type": draft.sender_type,
                    },
                )
    if touched:
        # One UPDATE for the whole batch instead of the unit of work's row-by-row UPDATEs.
        await session.execute(_TOUCH_CONVERSATIONS, {"ids": list(touched), "now": now})
        for conversation in touched.values():
            set_committed_value(conversation, "last_message_at", now)
    await session.flush()
    return results


async def do_add_message(
    *,
    session: AsyncSession,
    conversation: Conversation,
    sender_type: str,
    content: str,
    sender_id: str | None = None,
    sender_name: str | None = None,
    client_msg_id: str | None = None,
    content_type: str = "text",
    payload: dict[str, Any] | None = None,
) -> tuple[StoredMessage, bool]:
    """Store one message; a repeated `client_msg_id` in the same conversation returns the stored one."""
    draft = MessageDraft(
        conversation=conversation,
        sender_type=sender_type,
        content=content,
        sender_id=sender_id,
        sender_name=sender_name,
        client_msg_id=client_msg_id,
        content_type=content_type,
        payload=payload,
    )
    [result] = await do_add_messages(session=session, drafts=[draft])
    return result


async def do_add_bot_message(
    *, session: AsyncSession, conversation: Conversation, text: str, payload: dict[str, Any] | None = None
) -> StoredMessage:
    """The bot says something in the conversation."""
    message, _ = await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="bot",
        sender_name=BOT_NAME,
        content=text,
        payload=payload,
    )
    return message


def message_event(conversation: Conversation, message: Message | StoredMessage) -> dict[str, Any]:
    return {
        "type": "message",
        "conversation_id": conversation.public_id,
        "message": message_dict(conversation, message),
    }


def message_dict(conversation: Conversation, message: Message | StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": conversation.public_id,
        "channel": message.channel,
        "direction": message.direction,
        "sender_type": message.sender_type,
        "sender_name": message.sender_name,
        "content_type": message.content_type,
        "content": message.content,
        "payload": message.payload,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at.isoformat(),
    }


def _publish_message(session: AsyncSession, conversation: Conversation, message: StoredMessage) -> None:
    channels = [f"conv:{conversation.public_id}", "staff:monitor"]
    if conversation.assigned_agent_id is not None:
        channels.append(f"agent:{conversation.assigned_agent_id}")
    elif conversation.status == "queued":  # agents read the waiting chats before accepting one
        channels.append("staff:queue")
    publish_after_commit(session, channels, message_event(conversation, message))


def status_event(conversation: Conversation) -> dict[str, Any]:
    """What the customer's page shows about the conversation (also sent when a socket connects)."""
    return {
        "type": "status",
        "conversation_id": conversation.public_id,
        "status": conversation.status,
        "verification_level": conversation.verification_level,
        "agent_name": conversation.context.get("agent_name") if conversation.status == "assigned" else None,
    }


def _publish_status(
    session: AsyncSession, conversation: Conversation, also_agents: Sequence[int] = ()
) -> None:
    publish_after_commit(session, f"conv:{conversation.public_id}", status_event(conversation))
    change: dict[str, Any] = {"type": "conversation", "conversation_id": conversation.public_id}
    change["status"] = conversation.status
    change["agent_id"] = conversation.assigned_agent_id
    channels = ["staff:queue", "staff:monitor"]
    for agent_id in (conversation.assigned_agent_id, *also_agents):
        if agent_id is not None and f"agent:{agent_id}" not in channels:
            channels.append(f"agent:{agent_id}")
    publish_after_commit(session, channels, change)


# --- lifecycle ---------------------------------------------------------------------------------------


async def do_queue(*, session: AsyncSession, conversation: Conversation, reason: str, actor: Actor) -> None:
    """Hand the conversation from the bot to the human queue."""
    if conversation.status != "bot":
        return
    now = utcnow()
    # Compare-and-set before anything else of this transaction is flushed: an agent may have accepted
    # the chat while the bot was answering (pull from the bot stage); then it stays theirs, and the
    # hand-off's changes to the (stale) conversation are dropped instead of overwriting the agent's.
    with session.no_autoflush:
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.status == "bot")
            .values(status="queued", queued_at=now)
            .execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(conversation)
        await session.refresh(conversation)
        return
    set_committed_value(conversation, "status", "queued")
    set_committed_value(conversation, "queued_at", now)
    conversation.context = {**conversation.context, "handoff_reason": reason}
    await session.flush()
    emit(session, "conversation.queued", {"conversation_id": conversation.id, "reason": reason})
    do_record(
        session=session,
        actor=actor,
        action="conversation.queue",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"reason": reason},
    )
    _publish_status(session, conversation)


async def do_assign(
    *,
    session: AsyncSession,
    conversation: Conversation,
    agent_id: int,
    agent_name: str,
    capacity: int,
    actor: Actor,
    channel_capacity: int | None = None,
) -> str | None:
    """Give an open, unassigned conversation to an agent; refused if someone else got it first.

    `capacity` is the agent's total of open chats, `channel_capacity` (optional) their limit on the
    conversation's channel; both are counted under the agent's row lock. Returns the status it took
    the conversation from ("queued" or "bot"; None if it was already this agent's).
    """
    if conversation.status == "assigned" and conversation.assigned_agent_id == agent_id:
        return None
    # Lock order is always agent row, then conversation row: no deadlock between accepts.
    await check_agent_capacity(
        session=session,
        agent_id=agent_id,
        capacity=capacity,
        channel=conversation.channel,
        channel_capacity=channel_capacity,
    )
    now = utcnow()
    # Compare-and-set: only one agent can move it out of bot/queued. One status at a time, so the
    # caller learns which (the object in memory may be older than the row): a hand-off that commits
    # between the tries is caught by the last one.
    previous = None
    for source in ("queued", "bot", "queued"):
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.status == source)
            .values(status="assigned", assigned_agent_id=agent_id, assigned_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            previous = source
            break
    if previous is None:
        raise Conflict("This conversation has already been taken or closed.", code="conversation_taken")
    await session.refresh(conversation)
    conversation.context = {**conversation.context, "agent_name": agent_name}
    emit(session, "conversation.assigned", {"conversation_id": conversation.id, "agent_id": agent_id})
    do_record(
        session=session,
        actor=actor,
        action="conversation.assign",
        subject_type="conversation",
        subject_id=conversation.id,
        after={"agent_id": agent_id},
    )
    await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="系统",
        content=f"客服 {agent_name} 已接入，为您服务。",
        payload={"event": "agent_joined", "agent_name": agent_name},
    )
    _publish_status(session, conversation)
    return previous


async def lock_conversation(*, session: AsyncSession, conversation: Conversation) -> None:
    """Lock the conversation's row until commit (the write lock on SQLite) and re-read it: a change
    that depends on its current status (leaving the queue) cannot race an assignment."""
    with session.no_autoflush:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(status=Conversation.status)
            .execution_options(synchronize_session=False)
        )
    await session.refresh(conversation)


async def check_agent_capacity(
    *,
    session: AsyncSession,
    agent_id: int,
    capacity: int,
    channel: str,
    channel_capacity: int | None = None,
) -> None:
    """Lock the agent's row (until commit), then refuse if one more chat would exceed a capacity."""
    await auth.lock_staff(session=session, staff_id=agent_id)
    if await count_open_assigned(session=session, agent_id=agent_id) >= capacity:
        raise Conflict(f"You already have {capacity} chats open; close one first.", code="agent_at_capacity")
    if channel_capacity is not None and (
        await count_open_assigned(session=session, agent_id=agent_id, channel=channel) >= channel_capacity
    ):
        raise Conflict(
            f"At most {channel_capacity} open chats on {channel}; close one first.", code="agent_at_capacity"
        )


async def do_reassign(
    *,
    session: AsyncSession,
    conversation: Conversation,
    from_agent_id: int,
    to_agent_id: int,
    to_agent_name: str,
    capacity: int,
    actor: Actor,
    channel_capacity: int | None = None,
    notice: str,
) -> None:
    """Move an assigned conversation from one agent to another (transfer, supervisor take-over).

    Compare-and-set on (status, assigned agent): a close or another transfer that came first wins.
    """
    if to_agent_id == from_agent_id:
        raise Conflict("The conversation is already with this agent.", code="same_agent")
    await check_agent_capacity(
        session=session,
        agent_id=to_agent_id,
        capacity=capacity,
        channel=conversation.channel,
        channel_capacity=channel_capacity,
    )
    now = utcnow()
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            Conversation.status == "assigned",
            Conversation.assigned_agent_id == from_agent_id,
        )
        .values(assigned_agent_id=to_agent_id, assigned_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "The conversation has changed hands or was closed meanwhile.", code="conversation_taken"
        )
    await session.refresh(conversation)
    conversation.context = {**conversation.context, "agent_name": to_agent_name}
    emit(
        session,
        "conversation.assigned",
        {"conversation_id": conversation.id, "agent_id": to_agent_id, "from_agent_id": from_agent_id},
    )
    do_record(
        session=session,
        actor=actor,
        action="conversation.reassign",
        subject_type="conversation",
        subject_id=conversation.id,
        before={"agent_id": from_agent_id},
        after={"agent_id": to_agent_id},
    )
    await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="系统",
        content=notice,
        payload={"event": "agent_joined", "agent_name": to_agent_name},
    )
    _publish_status(session, conversation, also_agents=(from_agent_id,))


async def do_requeue(
    *,
    session: AsyncSession,
    conversation: Conversation,
    from_agent_id: int,
    skill_group: str,
    reason: str,
    notice: str,
    actor: Actor,
) -> None:
    """Give an assigned conversation back to a skill group's queue (a transfer to a group)."""
    now = utcnow()
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            Conversation.status == "assigned",
            Conversation.assigned_agent_id == from_agent_id,
        )
        .values(
            status="queued", assigned_agent_id=None, assigned_at=None, queued_at=now, skill_group=skill_group
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "The conversation has changed hands or was closed meanwhile.", code="conversation_taken"
        )
    await session.refresh(conversation)
    conversation.context = {
        **{k: v for k, v in conversation.context.items() if k != "agent_name"},
        "handoff_reason": reason,
    }
    await session.flush()
    emit(session, "conversation.queued", {"conversation_id": conversation.id, "reason": reason})
    do_record(
        session=session,
        actor=actor,
        action="conversation.requeue",
        subject_type="conversation",
        subject_id=conversation.id,
        before={"agent_id": from_agent_id},
        after={"skill_group": skill_group, "reason": reason},
    )
    await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="系统",
        content=notice,
        payload={"event": "transferred", "skill_group": skill_group},
    )
    _publish_status(session, conversation, also_agents=(from_agent_id,))


async def do_close(*, session: AsyncSession, conversation: Conversation, outcome: str, actor: Actor) -> None:
    if conversation.status == "closed":
        return
    before = {"status": conversation.status}
    await do_add_message(
        session=session,
        conversation=conversation,
        sender_type="system",
        sender_name="系统",
        content="本次会话已结束，感谢您的咨询。",
        payload={"event": "closed"},
    )
    conversation.status = "closed"
    conversation.closed_at = utcnow()
    conversation.outcome = outcome
    await session.flush()
    emit(session, "conversation.closed", {"conversation_id": conversation.id, "outcome": outcome})
    do_record(
        session=session,
        actor=actor,
        action="conversation.close",
        subject_type="conversation",
        subject_id=conversation.id,
        before=before,
        after={"status": "closed", "outcome": outcome},
    )
    _publish_status(session, conversation)


# --- presenting --------------------------------------------------------------------------------------


async def build_summaries(
    *, session: AsyncSession, items: Sequence[Conversation]
) -> list[ConversationSummary]:
    """API summaries with masked customer names, agent names and each conversation's last message."""
    from lingxi.customers import service as customers  # customers imports this module (timeline)

    last = await get_last_messages(session=session, conversation_ids=[c.id for c in items])
    customer_briefs: dict[int, CustomerBrief] = {}
    agent_briefs: dict[int, AgentBrief] = {}
    summaries = []
    for c in items:
        if c.customer_id is not None and c.customer_id not in customer_briefs:
            customer = await customers.get_customer(session=session, customer_id=c.customer_id)
            if customer is not None:
                customer_briefs[c.customer_id] = CustomerBrief(
                    id=customer.id,
                    customer_no=customer.customer_no,
                    display_name=customers.display_name(customer),
                    tier=customer.tier,
                    is_vip=customer.is_vip,
                )
        if c.assigned_agent_id is not None and c.assigned_agent_id not in agent_briefs:
            agent = await auth.access_staff(session=session, staff_id=c.assigned_agent_id)
            agent_briefs[c.assigned_agent_id] = AgentBrief(id=agent.id, display_name=agent.display_name)
        last_message = last.get(c.id)
        summaries.append(
            ConversationSummary(
                id=c.public_id,
                channel=c.channel,
                status=c.status,
                verification_level=c.verification_level,
                language=c.language,
                customer=customer_briefs.get(c.customer_id) if c.customer_id is not None else None,
                assigned_agent=agent_briefs.get(c.assigned_agent_id)
                if c.assigned_agent_id is not None
                else None,
                last_message=MessageRead(**message_dict(c, last_message)) if last_message else None,
                handoff_reason=c.context.get("handoff_reason"),
                handoff=_handoff_brief(c.context.get("handoff")),
                intent=c.intent,
                skill_group=c.skill_group,
                started_at=c.started_at,
                last_message_at=c.last_message_at,
                closed_at=c.closed_at,
            )
        )
    return summaries


def _handoff_brief(handoff: Any) -> HandoffBrief | None:
    if not isinstance(handoff, dict) or "reason" not in handoff:
        return None
    fields = {k: handoff[k] for k in HandoffBrief.model_fields if k in handoff and handoff[k] is not None}
    return HandoffBrief(**{"verification_level": "L0", **fields})


def message_reads(
    conversation: Conversation, messages: Sequence[Message] | Sequence[StoredMessage]
) -> list[MessageRead]:
    return [MessageRead(**message_dict(conversation, m)) for m in messages]
