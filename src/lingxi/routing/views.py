"""HTTP routes of routing: the customer's queue (position, leave, callback, survey), the agent's
transfers and notes, the supervisor's wallboard (also live over a WebSocket), whisper and take-over."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect

from lingxi.agents import service as agents
from lingxi.auth import service as auth
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm, role_has
from lingxi.channels.chat_session import ChatSession, CurrentChat
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.conversations.schemas import ConversationSummary
from lingxi.core.actor import Actor
from lingxi.core.db import get_database
from lingxi.core.deps import SessionDep
from lingxi.core.errors import Conflict, DomainError, NotFound
from lingxi.core.masking import mask_phone
from lingxi.core.realtime import get_broker
from lingxi.core.ws import error_frame, send_json
from lingxi.routing import service
from lingxi.routing.models import CallbackRequest, ConversationNote
from lingxi.routing.schemas import (
    AgentBoardRead,
    CallbackBoardRead,
    CallbackCreate,
    CallbackRead,
    GroupBoardRead,
    InviteBoardRead,
    InviteCreate,
    NoteCreate,
    NoteList,
    NoteRead,
    QueueStatus,
    ServiceLevelRead,
    SurveyAnswer,
    SurveyRead,
    TransferCreate,
    TransferGroup,
    TransferTarget,
    TransferTargets,
    WallboardRead,
)
from lingxi.routing.service_level import ServiceLevel
from lingxi.settings import get_settings

router = APIRouter(tags=["routing"])
Handler = Annotated[StaffUser, Depends(auth.require(Perm.CHAT_HANDLE))]
Monitor = Annotated[StaffUser, Depends(auth.require(Perm.CHAT_MONITOR))]


def _customer_actor(chat: ChatSession) -> Actor:
    if chat.customer_id is not None:
        return Actor(type="customer", id=str(chat.customer_id))
    return Actor(type="visitor", id=chat.visitor_id or "unknown")


async def _chat_conversation(session: Any, chat: ChatSession) -> Conversation:
    return await conversations.access_for_chat(
        session=session, conversation_id=chat.conversation_id, public_id=chat.conversation_public_id
    )


async def _staff_conversation(session: Any, user: StaffUser, public_id: str) -> Conversation:
    return await conversations.access_for_staff(
        session=session, public_id=public_id, staff_id=user.id, monitor=role_has(user.role, Perm.CHAT_MONITOR)
    )


async def _summary(session: Any, conversation: Conversation) -> ConversationSummary:
    return (await conversations.build_summaries(session=session, items=[conversation]))[0]


def _note_read(note: ConversationNote) -> NoteRead:
    return NoteRead.model_validate(service.note_dict(note))


# --- the customer in the queue -----------------------------------------------------------------------


@router.get("/api/chat/queue", response_model=QueueStatus)
async def queue_status(chat: CurrentChat, session: SessionDep) -> QueueStatus:
    """The customer's place in the queue and the estimated wait (also pushed in `status` frames)."""
    conversation = await _chat_conversation(session, chat)
    view = await service.get_queue_view(session=session, conversation=conversation)
    return QueueStatus(
        status=view.status,
        skill_group=view.skill_group,
        queue_position=view.queue_position,
        estimated_wait_seconds=view.estimated_wait_seconds,
        waited_seconds=view.waited_seconds,
        callback_offered=view.callback_offered,
    )


@router.post("/api/chat/queue/leave", response_model=QueueStatus)
async def leave_queue(chat: CurrentChat, session: SessionDep) -> QueueStatus:
    conversation = await _chat_conversation(session, chat)
    await service.do_leave_queue(session=session, conversation=conversation, actor=_customer_actor(chat))
    return QueueStatus(
        status=conversation.status,
        skill_group=conversation.skill_group,
        queue_position=None,
        estimated_wait_seconds=None,
        waited_seconds=None,
        callback_offered=False,
    )


def _callback_read(request: CallbackRequest) -> CallbackRead:
    return CallbackRead(
        id=request.id,
        kind=request.kind,
        status=request.status,
        phone=mask_phone(request.phone),
        ticket_reference=request.ticket_reference,
        created_at=request.created_at,
    )


@router.post("/api/chat/queue/callback", response_model=CallbackRead, status_code=201)
async def request_callback(body: CallbackCreate, chat: CurrentChat, session: SessionDep) -> CallbackRead:
    """Instead of waiting: a call back (registered mobile by default) or a message; the chat closes."""
    conversation = await _chat_conversation(session, chat)
    request = await service.do_request_callback(
        session=session,
        conversation=conversation,
        kind=body.kind,
        phone=body.phone,
        message=body.message,
        actor=_customer_actor(chat),
    )
    return _callback_read(request)


@router.post("/api/chat/survey", response_model=SurveyRead, status_code=201)
async def answer_survey(body: SurveyAnswer, chat: CurrentChat, session: SessionDep) -> SurveyRead:
    """The customer's score (1–5) for the chat an agent just closed."""
    conversation = await _chat_conversation(session, chat)
    response = await agents.do_record_csat(
        session=session,
        actor=_customer_actor(chat),
        conversation=conversation,
        score=body.score,
        comment=body.comment,
    )
    return SurveyRead(
        conversation_id=conversation.public_id, score=response.score, created_at=response.created_at
    )


# --- agents: transfer, invite a supervisor, internal notes -------------------------------------------


@router.get("/api/agent/transfer-targets", response_model=TransferTargets)
async def transfer_targets(user: Handler, session: SessionDep) -> TransferTargets:
    """Colleagues online with room, and the groups with their queues, for the transfer dialog."""
    board = await service.build_wallboard(session=session)
    return TransferTargets(
        agents=[
            TransferTarget(
                id=a.id,
                display_name=a.display_name,
                state=a.state,
                load=a.load,
                capacity=a.capacity,
                groups=a.groups,
            )
            for a in board.agents
            if a.id != user.id and a.state == "available"
        ],
        groups=[
            TransferGroup(
                code=g.code,
                name_zh=g.name_zh,
                name_en=g.name_en,
                waiting=g.waiting,
                agents_available=g.agents_available,
            )
            for g in board.groups
        ],
    )


@router.post("/api/agent/conversations/{conversation_id}/transfer", response_model=ConversationSummary)
async def transfer(
    conversation_id: str, body: TransferCreate, user: Handler, session: SessionDep, request: Request
) -> ConversationSummary:
    conversation = await _staff_conversation(session, user, conversation_id)
    if conversation.status != "assigned" or conversation.assigned_agent_id != user.id:
        raise Conflict("Only the agent handling the chat transfers it.", code="not_assigned_to_you")
    actor = auth.request_actor(request)
    if body.to_agent_id is not None:
        target = await session.get(StaffUser, body.to_agent_id)
        if target is None:
            raise NotFound(f"No agent {body.to_agent_id}.", code="agent_not_found")
        await service.do_transfer_to_agent(
            session=session,
            conversation=conversation,
            from_agent=user,
            to_agent=target,
            note=body.note,
            actor=actor,
        )
    else:
        assert body.to_group is not None
        group = await agents.access_skill_group(session=session, code=body.to_group)
        await service.do_transfer_to_group(
            session=session,
            conversation=conversation,
            from_agent=user,
            group=group,
            note=body.note,
            actor=actor,
        )
    return await _summary(session, conversation)


@router.post("/api/agent/conversations/{conversation_id}/invite", response_model=NoteRead, status_code=201)
async def invite_supervisor(
    conversation_id: str, body: InviteCreate, user: Handler, session: SessionDep, request: Request
) -> NoteRead:
    conversation = await _staff_conversation(session, user, conversation_id)
    note = await service.do_invite_supervisor(
        session=session,
        conversation=conversation,
        agent=user,
        text=body.text,
        actor=auth.request_actor(request),
    )
    return _note_read(note)


@router.get("/api/agent/conversations/{conversation_id}/notes", response_model=NoteList)
async def list_notes(conversation_id: str, user: Handler, session: SessionDep) -> NoteList:
    """Transfer notes, whispers and calls for help: staff only, never sent to the customer."""
    conversation = await _staff_conversation(session, user, conversation_id)
    notes = await service.list_notes(session=session, conversation=conversation)
    return NoteList(items=[_note_read(n) for n in notes])


# --- supervisors -------------------------------------------------------------------------------------


@router.post(
    "/api/supervisor/conversations/{conversation_id}/whisper", response_model=NoteRead, status_code=201
)
async def whisper(
    conversation_id: str, body: NoteCreate, user: Monitor, session: SessionDep, request: Request
) -> NoteRead:
    conversation = await _staff_conversation(session, user, conversation_id)
    note = await service.do_whisper(
        session=session,
        conversation=conversation,
        supervisor=user,
        text=body.text,
        actor=auth.request_actor(request),
    )
    return _note_read(note)


@router.post("/api/supervisor/conversations/{conversation_id}/take-over", response_model=ConversationSummary)
async def take_over(
    conversation_id: str, user: Monitor, session: SessionDep, request: Request
) -> ConversationSummary:
    conversation = await _staff_conversation(session, user, conversation_id)
    await service.do_take_over(
        session=session, conversation=conversation, supervisor=user, actor=auth.request_actor(request)
    )
    return await _summary(session, conversation)


@router.post("/api/supervisor/callbacks/{request_id}/done", response_model=CallbackBoardRead)
async def complete_callback(
    request_id: int, user: Monitor, session: SessionDep, request: Request
) -> CallbackBoardRead:
    callback = await service.access_callback(session=session, request_id=request_id)
    callback = await service.do_complete_callback(
        session=session, request=callback, actor=auth.request_actor(request)
    )
    return _callback_board(callback)


def _level(level: ServiceLevel) -> ServiceLevelRead:
    return ServiceLevelRead(
        offered=level.offered,
        answered=level.answered,
        answered_in_time=level.answered_in_time,
        abandoned=level.abandoned,
        short_abandoned=level.short_abandoned,
        callbacks=level.callbacks,
        service_level=level.service_level,
        abandon_rate=level.abandon_rate,
        average_answer_seconds=level.average_answer_seconds,
        longest_answer_seconds=level.longest_answer_seconds,
    )


def _callback_board(request: CallbackRequest) -> CallbackBoardRead:
    return CallbackBoardRead(
        id=request.id,
        kind=request.kind,
        skill_group=request.skill_group,
        phone=mask_phone(request.phone),
        message=request.message,
        status=request.status,
        ticket_reference=request.ticket_reference,
        created_at=request.created_at,
    )


async def _wallboard(session: Any) -> WallboardRead:
    board = await service.build_wallboard(session=session)
    return WallboardRead(
        at=board.at,
        short_abandon_seconds=get_settings().routing_short_abandon_seconds,
        waiting=board.waiting,
        longest_wait_seconds=board.longest_wait_seconds,
        today=_level(board.today),
        agents_by_state=board.agents_by_state,
        groups=[
            GroupBoardRead(
                code=g.code,
                name_zh=g.name_zh,
                name_en=g.name_en,
                strategy=g.strategy,
                service_level_seconds=g.service_level_seconds,
                max_wait_seconds=g.max_wait_seconds,
                overflow_group=g.overflow_group,
                waiting=g.waiting,
                longest_wait_seconds=g.longest_wait_seconds,
                agents_available=g.agents_available,
                agents_online=g.agents_online,
                free_slots=g.free_slots,
                today=_level(g.today),
            )
            for g in board.groups
        ],
        agents=[
            AgentBoardRead(
                id=a.id,
                display_name=a.display_name,
                role=a.role,
                presence=a.presence,
                reason=a.reason,
                since=a.since,
                state=a.state,
                load=a.load,
                capacity=a.capacity,
                wrap_up_until=a.wrap_up_until,
                groups=a.groups,
            )
            for a in board.agents
        ],
        callbacks=[_callback_board(c) for c in board.callbacks],
        invites=[
            InviteBoardRead(conversation_id=public_id, note=_note_read(note))
            for note, public_id in board.invites
        ],
    )


@router.get("/api/supervisor/wallboard", response_model=WallboardRead)
async def wallboard(user: Monitor, session: SessionDep) -> WallboardRead:
    """Queues, agents by state and today's service level (live over /api/supervisor/ws)."""
    return await _wallboard(session)


# One snapshot per process and second, however many supervisors watch.
_SNAPSHOT_TTL = 1.0
_snapshot: dict[str, Any] = {"at": 0.0, "frame": None}
_snapshot_lock = asyncio.Lock()
WALLBOARD_REFRESH_SECONDS = 5.0
WALLBOARD_DEBOUNCE_SECONDS = 0.3


async def _wallboard_frame() -> dict[str, Any]:
    async with _snapshot_lock:
        if _snapshot["frame"] is None or time.monotonic() - _snapshot["at"] > _SNAPSHOT_TTL:
            async with get_database().sessionmaker() as session:
                board = await _wallboard(session)
            _snapshot["frame"] = {"type": "wallboard", "wallboard": board.model_dump(mode="json")}
            _snapshot["at"] = time.monotonic()
        frame: dict[str, Any] = _snapshot["frame"]
        return frame


@router.websocket("/api/supervisor/ws")
async def wallboard_socket(websocket: WebSocket, token: str = "") -> None:
    """The wallboard, live: a snapshot at once, again on every queue or presence change (debounced)
    and every few seconds (waits grow). Frames from the client: only `ping`."""
    await websocket.accept()
    try:
        async with get_database().sessionmaker() as session:
            user = await auth.get_staff_from_token(session=session, token=token)
        if not role_has(user.role, Perm.CHAT_MONITOR):
            raise DomainError("Only supervisors watch the wallboard.", code="forbidden")
    except DomainError as exc:
        await send_json(websocket, error_frame(exc.code, exc.message))
        await websocket.close(code=4401 if exc.status_code == 401 else 4403)
        return

    async with get_broker().subscribe("staff:queue", service.WALLBOARD) as queue:

        async def push() -> None:
            while True:
                await send_json(websocket, await _wallboard_frame())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(queue.get(), timeout=WALLBOARD_REFRESH_SECONDS)
                    await asyncio.sleep(WALLBOARD_DEBOUNCE_SECONDS)  # let a burst of changes settle
                    while not queue.empty():
                        queue.get_nowait()
                    _snapshot["at"] = 0.0  # something changed: compute afresh

        async def receive() -> None:
            while True:
                text = await websocket.receive_text()
                try:
                    frame = orjson.loads(text)
                except orjson.JSONDecodeError:
                    frame = None
                if isinstance(frame, dict) and frame.get("type") == "ping":
                    await send_json(websocket, {"type": "pong"})
                else:
                    await send_json(
                        websocket, error_frame("bad_frame", "The wallboard socket takes only 'ping'.")
                    )

        tasks = [asyncio.create_task(push()), asyncio.create_task(receive())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
