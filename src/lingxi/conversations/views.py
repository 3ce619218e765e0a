"""The agent side of conversations: lists, detail, accept, reply, close and the agent WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, WebSocket

from lingxi.agents import service as agents
from lingxi.auth import service as auth
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.conversations.schemas import (
    ConversationDetail,
    ConversationList,
    ConversationSummary,
    MessageCreate,
    MessageRead,
)
from lingxi.core.db import get_database
from lingxi.core.deps import SessionDep
from lingxi.core.errors import Conflict, DomainError
from lingxi.core.realtime import get_broker
from lingxi.core.ws import error_frame, pump, send_json
from lingxi.routing import service as routing

router = APIRouter(prefix="/api/agent", tags=["agent workspace"])
Handler = Annotated[StaffUser, Depends(auth.require(Perm.CHAT_HANDLE))]


async def _access(session: Any, user: StaffUser, public_id: str) -> Conversation:
    """An agent sees conversations assigned to them or waiting (bot/queued); monitors see all."""
    return await conversations.access_for_staff(
        session=session, public_id=public_id, staff_id=user.id, monitor=role_has(user.role, Perm.CHAT_MONITOR)
    )


async def _summary(session: Any, conversation: Conversation) -> ConversationSummary:
    return (await conversations.build_summaries(session=session, items=[conversation]))[0]


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    user: Handler,
    session: SessionDep,
    scope: Literal["mine", "queued", "all"] = "mine",
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> ConversationList:
    if scope == "mine":
        items = await conversations.list_conversations(
            session=session, agent_id=user.id, statuses=["assigned"], limit=limit
        )
    elif scope == "queued":
        items = await conversations.list_conversations(session=session, statuses=["queued"], limit=limit)
    elif role_has(user.role, Perm.CHAT_MONITOR):
        items = await conversations.list_conversations(session=session, limit=limit)
    else:
        mine = await conversations.list_conversations(session=session, agent_id=user.id, limit=limit)
        waiting = await conversations.list_conversations(
            session=session, statuses=["bot", "queued"], limit=limit
        )
        items = sorted(
            {c.id: c for c in [*mine, *waiting]}.values(), key=lambda c: c.last_message_at, reverse=True
        )[:limit]
    return ConversationList(items=await conversations.build_summaries(session=session, items=items))


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(conversation_id: str, user: Handler, session: SessionDep) -> ConversationDetail:
    conversation = await _access(session, user, conversation_id)
    messages = await conversations.list_messages(session=session, conversation_id=conversation.id, limit=1000)
    return ConversationDetail(
        conversation=await _summary(session, conversation),
        messages=conversations.message_reads(conversation, messages),
    )


@router.post("/conversations/{conversation_id}/accept", response_model=ConversationSummary)
async def accept(
    conversation_id: str, user: Handler, session: SessionDep, request: Request
) -> ConversationSummary:
    # Not _access: an agent who lost the race for a chat gets 409 "taken", not 404.
    conversation = await conversations.access_conversation_by_public_id(
        session=session, public_id=conversation_id
    )
    # Pull: the agent takes it themselves (capacity per agent and channel counted under their lock).
    await routing.do_assign(
        session=session, conversation=conversation, agent=user, actor=auth.request_actor(request), how="pull"
    )
    return await _summary(session, conversation)


@router.post("/conversations/{conversation_id}/messages", response_model=MessageRead)
async def reply(conversation_id: str, body: MessageCreate, user: Handler, session: SessionDep) -> MessageRead:
    conversation = await _assigned_to(session, user, conversation_id)
    message, _ = await conversations.do_add_message(
        session=session,
        conversation=conversation,
        sender_type="agent",
        sender_id=str(user.id),
        sender_name=user.display_name,
        content=body.text,
        client_msg_id=body.client_msg_id,
    )
    return conversations.message_reads(conversation, [message])[0]


@router.post("/conversations/{conversation_id}/close", response_model=ConversationSummary)
async def close(
    conversation_id: str, user: Handler, session: SessionDep, request: Request
) -> ConversationSummary:
    conversation = await _assigned_to(session, user, conversation_id)
    # Closing asks the customer for a score and starts the agent's wrap-up time.
    await routing.do_close_by_agent(
        session=session, conversation=conversation, agent=user, actor=auth.request_actor(request)
    )
    return await _summary(session, conversation)


async def _assigned_to(session: Any, user: StaffUser, public_id: str) -> Conversation:
    conversation = await _access(session, user, public_id)
    if conversation.assigned_agent_id != user.id:
        raise Conflict("Accept the conversation before replying or closing it.", code="not_assigned_to_you")
    return conversation


@router.websocket("/ws")
async def agent_socket(websocket: WebSocket, token: str = "") -> None:
    """Live updates for an agent: messages of their chats, queue changes; supervisors see everything."""
    await websocket.accept()
    database = get_database()
    try:
        async with database.sessionmaker() as session:
            user = await auth.get_staff_from_token(session=session, token=token)
        if not role_has(user.role, Perm.CHAT_HANDLE) and not role_has(user.role, Perm.CHAT_MONITOR):
            raise DomainError("Your role may not handle chats.", code="forbidden")
    except DomainError as exc:
        await send_json(websocket, error_frame(exc.code, exc.message))
        await websocket.close(code=4401 if exc.status_code == 401 else 4403)
        return
    channels = [f"agent:{user.id}", "staff:queue"]
    if role_has(user.role, Perm.CHAT_MONITOR):
        channels.append("staff:monitor")

    async def on_client(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame.get("type") == "typing" and isinstance(frame.get("conversation_id"), str):
            async with database.sessionmaker() as session:
                conversation = await _assigned_to(session, user, frame["conversation_id"])
            await get_broker().publish(
                f"conv:{conversation.public_id}",
                {"type": "typing", "sender_type": "agent", "conversation_id": conversation.public_id},
            )
            return None
        return error_frame("bad_frame", "Send replies over REST; the socket takes 'typing' and 'ping'.")

    # The registry tells the router the workspace is open (an online agent whose sockets are all
    # gone is set away after a grace period, so no chat is pushed to an empty desk).
    registry = agents.get_connection_registry()
    conn_id = uuid.uuid4().hex

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(agents.HEARTBEAT_SECONDS)
            await registry.beat(user.id, conn_id)

    async with get_broker().subscribe(*channels) as queue:
        await registry.opened(user.id, conn_id)
        beating = asyncio.create_task(heartbeat())
        try:
            await send_json(websocket, {"type": "hello", "agent_id": user.id, "channels": channels})
            await pump(websocket, queue, on_client)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beating
            with contextlib.suppress(Exception):
                await registry.closed(user.id, conn_id)
