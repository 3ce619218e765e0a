"""The customer's own work orders (H5 page and app): list, progress, add information or files, urge,
cancel, confirm or reopen, rate. Authenticated by the chat session token of an identified customer
(the bank app's log-in); an anonymous visitor is asked to log in. Another customer's order answers
404, exactly like an order that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from lingxi.channels.chat_session import CurrentChat
from lingxi.core.actor import Actor
from lingxi.core.deps import SessionDep
from lingxi.core.errors import Forbidden, Unauthenticated
from lingxi.customers import service as customers
from lingxi.customers.models import Customer
from lingxi.tickets import service
from lingxi.tickets.console import check_read, duplicate_error, file_response, options, read_upload
from lingxi.tickets.models import Ticket
from lingxi.tickets.progress import customer_summary, customer_view
from lingxi.tickets.schemas import (
    CreateCheckRead,
    CustomerProgress,
    MyInfo,
    MyReason,
    MyTicketCheck,
    MyTicketCreate,
    MyTicketList,
    RatingBody,
    TicketOptions,
)

router = APIRouter(prefix="/api/my/tickets", tags=["work orders (customer)"])


async def current_customer(chat: CurrentChat, session: SessionDep) -> Customer:
    if chat.customer_id is None:
        raise Forbidden(
            "Log in to the bank app to see your work orders.",
            code="login_required",
            details={"message_zh": "请先登录手机银行后查看您的工单。"},
        )
    customer = await customers.get_customer(session=session, customer_id=chat.customer_id)
    if customer is None:
        raise Unauthenticated("The chat session names no customer known here.", code="unknown_customer")
    return customer


Me = Annotated[Customer, Depends(current_customer)]


def _actor(customer: Customer, request: Request) -> Actor:
    return service.customer_actor(customer, request.client.host if request.client else None)


async def _mine(session: SessionDep, customer: Customer, ticket_no: str) -> Ticket:
    return await service.access_customer_ticket(session=session, customer_id=customer.id, ticket_no=ticket_no)


async def progress(session: SessionDep, ticket: Ticket) -> CustomerProgress:
    timeline = await service.get_timeline(session=session, ticket=ticket, customer_only=True)
    numbers = await service.ticket_numbers(session=session, ids=[e.ticket_id for e in timeline])
    attachments = await service.list_attachments(session=session, ticket_id=ticket.id)
    return customer_view(ticket, timeline, attachments=attachments, numbers=numbers)


@router.get("", response_model=MyTicketList, summary="My work orders, newest first")
async def my_tickets(session: SessionDep, me: Me, open_only: bool = False) -> MyTicketList:
    tickets = await service.list_customer_tickets(session=session, customer_id=me.id, open_only=open_only)
    return MyTicketList(items=[customer_summary(t) for t in tickets])


@router.get("/options", response_model=TicketOptions, summary="What a new order can be about")
async def my_options(me: Me) -> TicketOptions:
    return options()


@router.post("/check", response_model=CreateCheckRead, summary="Similar open orders, knowledge answers")
async def my_check(body: MyTicketCheck, session: SessionDep, me: Me) -> CreateCheckRead:
    result = await service.check_before_create(
        session=session,
        customer_id=me.id,
        type=body.type,
        category=body.category,
        title=body.title,
        description=body.description,
        language=me.language,
        channel="webchat",
    )
    return check_read(result)


@router.post("", response_model=CustomerProgress, status_code=201, summary="Open a work order myself")
async def my_create(
    body: MyTicketCreate, request: Request, chat: CurrentChat, session: SessionDep, me: Me
) -> CustomerProgress:
    service.check_ticket_input(
        type=body.type,
        category=body.category,
        title=body.title,
        description=body.description,
        fields=body.fields,
    )
    if not body.acknowledge_duplicates:
        found = await service.check_before_create(
            session=session,
            customer_id=me.id,
            type=body.type,
            category=body.category,
            title=body.title,
            description=body.description,
            language=me.language,
            channel=chat.channel,
        )
        if found.duplicates:
            raise duplicate_error(found)
    ticket = await service.do_create_ticket(
        session=session,
        customer_id=me.id,
        type=body.type,
        category=body.category,
        title=body.title,
        description=body.description,
        fields=body.fields,
        source="customer",
        channel=chat.channel,
        conversation_id=None,
        actor=_actor(me, request),
    )
    return await progress(session, ticket)


@router.get("/{ticket_no}", response_model=CustomerProgress, summary="Progress in plain language")
async def my_ticket(ticket_no: str, session: SessionDep, me: Me) -> CustomerProgress:
    return await progress(session, await _mine(session, me, ticket_no))


@router.post("/{ticket_no}/info", response_model=CustomerProgress, summary="Add information")
async def my_info(
    ticket_no: str, body: MyInfo, request: Request, session: SessionDep, me: Me
) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_customer_add_info(
        session=session, ticket=ticket, text=body.text, actor=_actor(me, request)
    )
    return await progress(session, ticket)


@router.post("/{ticket_no}/attachments", response_model=CustomerProgress, summary="Add a picture or PDF")
async def my_attachment(
    ticket_no: str, request: Request, session: SessionDep, me: Me, file: Annotated[UploadFile, File()]
) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    data = await read_upload(file)
    await service.do_add_attachment(
        session=session,
        ticket=ticket,
        filename=file.filename or "attachment",
        data=data,
        visibility="customer",
        actor=_actor(me, request),
    )
    return await progress(session, ticket)


@router.get("/{ticket_no}/attachments/{attachment_id}", response_class=Response, summary="Download a file")
async def my_download(ticket_no: str, attachment_id: int, session: SessionDep, me: Me) -> Response:
    ticket = await _mine(session, me, ticket_no)
    attachment = await service.access_attachment(
        session=session, ticket=ticket, attachment_id=attachment_id, customer=True
    )
    data = await service.read_attachment(attachment=attachment)
    return file_response(attachment.filename, attachment.content_type, data)


@router.post("/{ticket_no}/urge", response_model=CustomerProgress, summary="Urge (催办), rate-limited")
async def my_urge(ticket_no: str, request: Request, session: SessionDep, me: Me) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_urge(session=session, ticket=ticket, actor=_actor(me, request))
    return await progress(session, ticket)


@router.post("/{ticket_no}/cancel", response_model=CustomerProgress, summary="Cancel my order")
async def my_cancel(
    ticket_no: str, body: MyReason, request: Request, session: SessionDep, me: Me
) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_cancel(session=session, ticket=ticket, actor=_actor(me, request), reason=body.reason)
    return await progress(session, ticket)


@router.post("/{ticket_no}/confirm", response_model=CustomerProgress, summary="Confirm the resolution")
async def my_confirm(ticket_no: str, request: Request, session: SessionDep, me: Me) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_close(session=session, ticket=ticket, actor=_actor(me, request))
    return await progress(session, ticket)


@router.post("/{ticket_no}/reopen", response_model=CustomerProgress, summary="Not solved: reopen")
async def my_reopen(
    ticket_no: str, body: MyReason, request: Request, session: SessionDep, me: Me
) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_reopen(session=session, ticket=ticket, actor=_actor(me, request), reason=body.reason)
    return await progress(session, ticket)


@router.post("/{ticket_no}/rating", response_model=CustomerProgress, summary="Rate the handling (1–5)")
async def my_rating(
    ticket_no: str, body: RatingBody, request: Request, session: SessionDep, me: Me
) -> CustomerProgress:
    ticket = await _mine(session, me, ticket_no)
    await service.do_rate(
        session=session, ticket=ticket, score=body.score, comment=body.comment, actor=_actor(me, request)
    )
    return await progress(session, ticket)
