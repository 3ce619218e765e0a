"""The app/web chat channel: sessions, REST messages and the customer WebSocket with resume."""

from __future__ import annotations

import secrets
from collections import deque
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket

from lingxi.channels import service as channels
from lingxi.channels.chat_session import ChatSession, CurrentChat, decode_chat_token, issue_chat_token
from lingxi.channels.ingest import get_ingest
from lingxi.channels.schemas import (
    ChatCustomer,
    ChatSessionCreate,
    ChatSessionRead,
    ChatStatus,
    DemoCustomer,
    DemoCustomerList,
    DemoLogin,
)
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.conversations.schemas import MessageCreate, MessageList, MessageRead
from lingxi.core.db import get_database
from lingxi.core.deps import SessionDep
from lingxi.core.errors import DomainError, NotFound, Unauthenticated
from lingxi.core.realtime import get_broker
from lingxi.core.ws import error_frame, pump, send_json
from lingxi.customers import service as customers
from lingxi.identity import service as identity
from lingxi.identity.app_tokens import issue_demo_app_token, verify_app_token
from lingxi.settings import get_settings

router = APIRouter(prefix="/api/chat", tags=["chat (customer)"])
CHANNEL = "webchat"


async def _chat_conversation(session: Any, chat: ChatSession) -> Conversation:
    conversation = await conversations.get_conversation(session=session, conversation_id=chat.conversation_id)
    if conversation is None or conversation.public_id != chat.conversation_public_id:
        raise NotFound("This chat no longer exists; reopen the chat.", code="conversation_not_found")
    return conversation


@router.post("/sessions", response_model=ChatSessionRead)
async def open_session(body: ChatSessionCreate, session: SessionDep) -> ChatSessionRead:
    """Open (or resume) the chat: with the bank app's login token the customer is identified (L1)."""
    customer = None
    visitor_id = body.visitor_id or f"v-{secrets.token_hex(12)}"
    if body.app_token:
        customer_no = verify_app_token(body.app_token)
        customer = await customers.get_customer_by_contact(
            session=session, kind="app_user", value=customer_no
        )
        if customer is None:
            raise Unauthenticated("The app login names no customer known here.", code="unknown_customer")
    base_level = "L1" if customer else "L0"
    level = base_level
    if customer is not None:
        level, _ = await identity.get_effective_level(
            session=session, customer_id=customer.id, base_level=base_level
        )
    conversation, _ = await conversations.get_or_open_conversation(
        session=session,
        channel=CHANNEL,
        customer_id=customer.id if customer else None,
        visitor_id=None if customer else visitor_id,
        language=body.language,
        verification_level=level,
    )
    await session.flush()
    chat = ChatSession(
        conversation_id=conversation.id,
        conversation_public_id=conversation.public_id,
        customer_id=customer.id if customer else None,
        visitor_id=None if customer else visitor_id,
    )
    return ChatSessionRead(
        session_token=issue_chat_token(chat),
        conversation_id=conversation.public_id,
        visitor_id=chat.visitor_id,
        verification_level=conversation.verification_level,
        customer=ChatCustomer(display_name=customers.display_name(customer), tier=customer.tier)
        if customer
        else None,
        status=conversation.status,
    )


@router.get("/status", response_model=ChatStatus)
async def chat_status(chat: CurrentChat, session: SessionDep) -> ChatStatus:
    """The conversation's status for clients that poll instead of holding a socket."""
    conversation = await _chat_conversation(session, chat)
    return ChatStatus(**conversations.status_event(conversation))


@router.get("/messages", response_model=MessageList)
async def list_messages(
    chat: CurrentChat, session: SessionDep, after: Annotated[int, Query(ge=0)] = 0
) -> MessageList:
    """Messages after the given id (REST fallback and resume)."""
    conversation = await _chat_conversation(session, chat)
    messages = await conversations.list_messages(
        session=session, conversation_id=conversation.id, after_id=after
    )
    return MessageList(items=conversations.message_reads(conversation, messages))


@router.post("/messages", response_model=MessageRead)
async def send_message(body: MessageCreate, chat: CurrentChat, session: SessionDep) -> MessageRead:
    conversation = await _chat_conversation(session, chat)
    message, _ = await channels.do_receive_from_customer(
        session=session, conversation=conversation, text=body.text, client_msg_id=body.client_msg_id
    )
    return conversations.message_reads(conversation, [message])[0]


@router.websocket("/ws")
async def customer_socket(
    websocket: WebSocket, token: str = "", last_id: Annotated[int, Query(ge=0)] = 0
) -> None:
    """Live chat. Sends what the client missed after `last_id`, then live messages and status."""
    await websocket.accept()
    try:
        chat = decode_chat_token(token)
    except DomainError as exc:
        await send_json(websocket, error_frame(exc.code, exc.message))
        await websocket.close(code=4401)
        return
    database = get_database()
    sent_upto = {"id": last_id}
    own: deque[str] = deque(maxlen=256)  # client ids sent on this socket: their echo is the ack
    async with get_broker().subscribe(f"conv:{chat.conversation_public_id}") as queue:
        # Subscribe first, then catch up: nothing published in between is lost.
        async with database.sessionmaker() as session:
            conversation = await conversations.get_conversation(
                session=session, conversation_id=chat.conversation_id
            )
            if conversation is None:
                await send_json(
                    websocket, error_frame("conversation_not_found", "This chat no longer exists.")
                )
                await websocket.close(code=4404)
                return
            missed = await conversations.list_messages(
                session=session, conversation_id=conversation.id, after_id=last_id, limit=1000
            )
        # Send outside the session: the (single, on SQLite) connection is not held during network I/O.
        for message in missed:
            await send_json(websocket, conversations.message_event(conversation, message))
            sent_upto["id"] = message.id
        await send_json(websocket, conversations.status_event(conversation))

        async def on_client(frame: dict[str, Any]) -> dict[str, Any] | None:
            if frame.get("type") == "typing":
                async with database.sessionmaker() as session:
                    conversation = await _chat_conversation(session, chat)
                if conversation.assigned_agent_id is not None:
                    await get_broker().publish(
                        f"agent:{conversation.assigned_agent_id}",
                        {
                            "type": "typing",
                            "sender_type": "customer",
                            "conversation_id": chat.conversation_public_id,
                        },
                    )
                return None
            if frame.get("type") != "message":
                return error_frame("bad_frame", "Unknown frame type; use 'message', 'typing' or 'ping'.")
            body = MessageCreate.model_validate(
                {"client_msg_id": frame.get("client_msg_id"), "text": frame.get("text")}
            )
            own.append(body.client_msg_id)
            read = await get_ingest().submit(
                conversation_id=chat.conversation_id, text=body.text, client_msg_id=body.client_msg_id
            )
            return {
                "type": "ack",
                "client_msg_id": body.client_msg_id,
                "message": read,
            }

        def already_sent(event: dict[str, Any]) -> bool:
            if event.get("type") != "message":
                return False
            message = event["message"]
            if message["id"] <= sent_upto["id"]:
                return True
            return message["sender_type"] == "customer" and message["client_msg_id"] in own

        await pump(websocket, queue, _validating(on_client), skip=already_sent)


def _validating(handler: Any) -> Any:
    """Turn pydantic validation errors of a frame into an error frame instead of closing the socket."""
    from pydantic import ValidationError

    async def wrapped(frame: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return await handler(frame)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
            return error_frame(
                "validation_failed",
                f"Invalid message: check {fields}.",
                client_msg_id=frame.get("client_msg_id"),
            )

    return wrapped


# --- demo helpers (dev/test only): the demo bank's app would issue the login token ---------------


def _demo_only() -> None:
    if get_settings().env == "prod":
        raise NotFound("Not found.")


@router.get("/demo-customers", response_model=DemoCustomerList)
async def demo_customers(session: SessionDep) -> DemoCustomerList:
    _demo_only()
    items = await customers.search_customers(session=session, q="", limit=12)
    return DemoCustomerList(
        items=[
            DemoCustomer(customer_no=c.customer_no, display_name=c.display_name, tier=c.tier) for c in items
        ]
    )


@router.get("/demo-login", response_model=DemoLogin)
async def demo_login(customer_no: Annotated[str, Query(max_length=20)], session: SessionDep) -> DemoLogin:
    _demo_only()
    if await customers.get_customer_by_contact(session=session, kind="app_user", value=customer_no) is None:
        raise NotFound(f"No demo customer {customer_no}.")
    return DemoLogin(app_token=issue_demo_app_token(customer_no))
