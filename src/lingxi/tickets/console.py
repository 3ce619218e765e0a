"""HTTP routes of the work-order centre (staff console).

Staff with a branch code see and act on their branch's orders only (others answer 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from lingxi.auth import service as auth
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm
from lingxi.conversations import service as conversations
from lingxi.core.deps import SessionDep
from lingxi.core.errors import Conflict, DomainError, NotFound, TooLarge, ValidationFailed
from lingxi.core.timeutil import as_utc
from lingxi.customers import service as customers
from lingxi.customers.models import Customer
from lingxi.settings import get_settings
from lingxi.tickets import dispatch, present, service
from lingxi.tickets.categories import BY_ID, CATEGORIES
from lingxi.tickets.constants import STATUS_LABELS, STATUSES, TYPE_LABELS, TYPES, UNFINISHED_STATUSES
from lingxi.tickets.fields import TEMPLATES
from lingxi.tickets.knowledge import NO_KNOWLEDGE
from lingxi.tickets.models import Ticket
from lingxi.tickets.schemas import (
    AssignBody,
    BulkBody,
    BulkResult,
    BulkResultItem,
    CategoryRead,
    CommentCreate,
    CreateCheckRead,
    DuplicateCandidate,
    FieldSpecRead,
    HotIssueList,
    HotIssueRead,
    KnowledgeAnswer,
    MergeBody,
    NoteBody,
    PriorityBody,
    QueueCount,
    QueueStats,
    RequiredNoteBody,
    ResolveBody,
    StaffBrief,
    SubtaskCreate,
    SweepRead,
    TeamRead,
    TicketCheck,
    TicketCreate,
    TicketDetail,
    TicketDraft,
    TicketEventRead,
    TicketList,
    TicketOptions,
    TicketTypeRead,
    TransferBody,
)

router = APIRouter(prefix="/api/tickets", tags=["work orders"])
Viewer = Annotated[StaffUser, Depends(auth.require(Perm.TICKET_VIEW))]
Handler = Annotated[StaffUser, Depends(auth.require(Perm.TICKET_HANDLE))]
Supervisor = Annotated[StaffUser, Depends(auth.require(Perm.TICKET_SUPERVISE))]
ChatAgent = Annotated[StaffUser, Depends(auth.require(Perm.CHAT_HANDLE))]


def options() -> TicketOptions:
    return TicketOptions(
        types=[
            TicketTypeRead(
                type=t,
                label_zh=TYPE_LABELS[t][0],
                label_en=TYPE_LABELS[t][1],
                fields=[
                    FieldSpecRead(
                        name=s.name,
                        kind=s.kind,
                        label_zh=s.zh,
                        label_en=s.en,
                        required=s.required,
                        choices=[{"value": c.value, "label_zh": c.zh, "label_en": c.en} for c in s.choices],
                        max_length=s.max_length,
                    )
                    for s in TEMPLATES[t]
                ],
            )
            for t in TYPES
        ],
        categories=[
            CategoryRead(id=c.id, label_zh=c.zh, label_en=c.en, product=c.product) for c in CATEGORIES
        ],
    )


def check_read(check: service.CreateCheck) -> CreateCheckRead:
    return CreateCheckRead(
        duplicates=[
            DuplicateCandidate(
                ticket_no=d.ticket.ticket_no,
                title=d.ticket.title,
                status=d.ticket.status,
                status_label=STATUS_LABELS[d.ticket.status][0],
                category=d.ticket.category,
                created_at=d.ticket.created_at,
                score=d.score,
                suggestion=d.suggestion,
            )
            for d in check.duplicates
        ],
        knowledge=[
            KnowledgeAnswer(title=k.title, answer=k.answer, score=k.score, article_id=k.article_id)
            for k in check.knowledge
        ],
        advice=check.advice,
    )


def duplicate_error(check: service.CreateCheck) -> DomainError:
    return Conflict(
        "This customer already has a similar open work order: follow it, or confirm a new one is needed.",
        code="duplicate_suspected",
        details={
            **check_read(check).model_dump(mode="json"),
            "message_zh": "客户已有类似的处理中工单，可跟进原工单；确需新建请确认。",
        },
    )


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded bytes, reading no more than the size limit allows (413 beyond it)."""
    limit = get_settings().ticket_attachment_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(
            f"Attachments may be at most {limit // (1024 * 1024)} MB.",
            code="attachment_too_large",
            details={"max_bytes": limit, "message_zh": f"附件不能超过 {limit // (1024 * 1024)} MB。"},
        )
    return data


async def _ticket(session: SessionDep, user: StaffUser, ticket_id: int) -> Ticket:
    return await service.access_ticket(
        session=session, ticket_id=ticket_id, scope=service.StaffScope.of(user)
    )


async def _detail(session: SessionDep, ticket: Ticket) -> TicketDetail:
    return await present.detail(session=session, ticket=ticket)


# --- reading --------------------------------------------------------------------------------------


@router.get("/options", response_model=TicketOptions, summary="Types with their field templates, categories")
async def ticket_options(user: Viewer) -> TicketOptions:
    return options()


@router.get("", response_model=TicketList, summary="Queues and search (branch staff: their branch only)")
async def list_tickets(
    session: SessionDep,
    user: Viewer,
    status: Annotated[list[str] | None, Query(description="repeat for several")] = None,
    view: Annotated[Literal["all", "open", "mine", "unassigned", "breached"], Query()] = "open",
    team_id: int | None = None,
    assignee_id: int | None = None,
    type: str | None = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    priority: str | None = None,
    customer_id: int | None = None,
    q: Annotated[str | None, Query(max_length=50)] = None,
    due_before: datetime | None = None,
    sort: Literal["due", "newest"] = "newest",
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketList:
    bad = [s for s in status or [] if s not in STATUSES]
    if bad:
        raise ValidationFailed(f"Unknown status {bad[0]!r}; use {', '.join(STATUSES)}.", code="bad_status")
    filters = service.TicketFilters(
        status=status or (UNFINISHED_STATUSES if view in ("open", "mine", "unassigned", "breached") else ()),
        team_id=team_id,
        assignee_id=user.id if view == "mine" else assignee_id,
        unassigned=view == "unassigned",
        type=type,
        category=category,
        priority=priority,
        customer_id=customer_id,
        breached=True if view == "breached" else None,
        q=q,
        due_before=as_utc(due_before) if due_before else None,
    )
    items = await service.list_tickets(
        session=session,
        scope=service.StaffScope.of(user),
        filters=filters,
        sort=sort,
        before_id=before_id,
        limit=limit,
    )
    return TicketList(
        items=await present.summaries(session=session, tickets=items),
        next_before_id=items[-1].id if len(items) == limit and sort == "newest" else None,
    )


@router.get("/queues", response_model=QueueStats, summary="Unfinished orders per team and status")
async def queues(session: SessionDep, user: Viewer) -> QueueStats:
    rows = await service.count_queues(session=session, scope=service.StaffScope.of(user))
    return QueueStats(items=[QueueCount(team_id=t, status=s, count=c, breached=b) for t, s, c, b in rows])


@router.get("/teams", response_model=list[TeamRead], summary="Teams (head-office departments and branches)")
async def teams(session: SessionDep, user: Viewer) -> list[TeamRead]:
    return [present.team_read(t) for t in await dispatch.list_teams(session=session)]


@router.get("/teams/{team_id}/members", response_model=list[StaffBrief], summary="Who can be assigned")
async def team_members(team_id: int, session: SessionDep, user: Viewer) -> list[StaffBrief]:
    team = await dispatch.get_team(session=session, team_id=team_id)
    if team is None:
        raise NotFound(f"No team {team_id}.", code="team_not_found")
    ids = await dispatch.list_member_ids(session=session, team_id=team.id)
    users = [await auth.access_staff(session=session, staff_id=i) for i in ids]
    return [StaffBrief(id=u.id, display_name=u.display_name) for u in users if u.is_active]


@router.get("/draft", response_model=TicketDraft, summary="A new order prefilled from a conversation")
async def draft(
    session: SessionDep, user: ChatAgent, conversation_id: Annotated[str, Query(max_length=36)]
) -> TicketDraft:
    values = await service.build_draft(session=session, conversation_public_id=conversation_id)
    values.pop("conversation_pk")
    return TicketDraft(**values)


@router.post("/check", response_model=CreateCheckRead, summary="Likely duplicates and knowledge answers")
async def check(body: TicketCheck, session: SessionDep, user: Viewer) -> CreateCheckRead:
    customer = await _customer_in_scope(session, user, body.customer_id)
    result = await service.check_before_create(
        session=session,
        customer_id=customer.id,
        type=body.type,
        category=body.category,
        title=body.title,
        description=body.description,
        language=customer.language,
    )
    return check_read(result)


async def _customer_in_scope(session: SessionDep, user: StaffUser, customer_id: int) -> Customer:
    return await customers.access_customer(
        session=session, customer_id=customer_id, branch_scope=user.branch_code
    )


@router.post("", response_model=TicketDetail, status_code=201, summary="Open a work order")
async def create(body: TicketCreate, request: Request, session: SessionDep, user: Viewer) -> TicketDetail:
    customer = await _customer_in_scope(session, user, body.customer_id)
    conversation_pk = None
    if body.conversation_id:
        conversation = await conversations.access_conversation_by_public_id(
            session=session, public_id=body.conversation_id
        )
        conversation_pk = conversation.id
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
            customer_id=customer.id,
            type=body.type,
            category=body.category,
            title=body.title,
            description=body.description,
            knowledge=NO_KNOWLEDGE,
        )
        if found.duplicates:
            raise duplicate_error(found)
    ticket = await service.do_create_ticket(
        session=session,
        customer_id=customer.id,
        type=body.type,
        category=body.category,
        title=body.title,
        description=body.description,
        fields=body.fields,
        source="conversation" if conversation_pk else "staff",
        channel=body.channel,
        conversation_id=conversation_pk,
        actor=auth.request_actor(request),
        priority=body.priority,
        team_id=body.team_id,
    )
    return await _detail(session, ticket)


# --- supervision ----------------------------------------------------------------------------------


@router.get("/hot-issues", response_model=HotIssueList, summary="Hot-issue alerts")
async def hot_issues(
    session: SessionDep,
    user: Supervisor,
    status: Annotated[Literal["open", "acknowledged"] | None, Query()] = None,
) -> HotIssueList:
    issues = await service.list_hot_issues(session=session, status=status)
    numbers = await service.ticket_numbers(
        session=session, ids=[i for issue in issues for i in (issue.ticket_ids or [])]
    )
    return HotIssueList(
        items=[
            HotIssueRead(
                id=issue.id,
                category=issue.category,
                category_label=BY_ID[issue.category].zh if issue.category in BY_ID else issue.category,
                summary=issue.summary,
                ticket_nos=[numbers[i] for i in issue.ticket_ids or [] if i in numbers],
                customer_count=issue.customer_count,
                first_seen_at=issue.first_seen_at,
                last_seen_at=issue.last_seen_at,
                status=issue.status,
            )
            for issue in issues
        ]
    )


@router.post(
    "/hot-issues/{issue_id}/acknowledge", response_model=HotIssueList, summary="Acknowledge an alert"
)
async def acknowledge(issue_id: int, request: Request, session: SessionDep, user: Supervisor) -> HotIssueList:
    await service.do_acknowledge_hot_issue(
        session=session, issue_id=issue_id, user=user, actor=auth.request_actor(request)
    )
    return await hot_issues(session=session, user=user, status=None)


@router.post(
    "/sla/sweep", response_model=SweepRead, summary="Run the SLA sweep now (it also runs periodically)"
)
async def sweep(session: SessionDep, user: Supervisor) -> SweepRead:
    result = await service.do_sla_sweep(session=session)
    return SweepRead(
        processed=result.processed,
        warnings=result.warnings,
        breaches=result.breaches,
        escalations=result.escalations,
        auto_closed=result.auto_closed,
    )


@router.get("/{ticket_id}", response_model=TicketDetail, summary="An order with its timeline (masked)")
async def get_ticket(ticket_id: int, session: SessionDep, user: Viewer) -> TicketDetail:
    return await _detail(session, await _ticket(session, user, ticket_id))


@router.post("/{ticket_id}/comments", response_model=TicketEventRead, summary="Internal note or reply")
async def comment(
    ticket_id: int, body: CommentCreate, request: Request, session: SessionDep, user: Viewer
) -> TicketEventRead:
    ticket = await _ticket(session, user, ticket_id)
    event = await service.do_add_comment(
        session=session,
        ticket=ticket,
        text=body.text,
        visibility=body.visibility,
        actor=auth.request_actor(request),
    )
    return TicketEventRead(
        id=event.id,
        ticket_id=ticket.id,
        ticket_no=ticket.ticket_no,
        at=event.at,
        actor_type=event.actor_type,
        actor_name=event.actor_name,
        kind=event.kind,
        from_status=None,
        to_status=None,
        note=event.note,
        visibility=event.visibility,
        data=event.data,
    )


@router.post("/{ticket_id}/attachments", response_model=TicketDetail, summary="Attach a file (JPEG/PNG/PDF)")
async def attach(
    ticket_id: int,
    request: Request,
    session: SessionDep,
    user: Viewer,
    file: Annotated[UploadFile, File()],
    visibility: Annotated[Literal["internal", "customer"], Form()] = "internal",
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    data = await read_upload(file)
    await service.do_add_attachment(
        session=session,
        ticket=ticket,
        filename=file.filename or "attachment",
        data=data,
        visibility=visibility,
        actor=auth.request_actor(request),
    )
    return await _detail(session, ticket)


@router.get(
    "/{ticket_id}/attachments/{attachment_id}", response_class=Response, summary="Download an attachment"
)
async def download(ticket_id: int, attachment_id: int, session: SessionDep, user: Viewer) -> Response:
    ticket = await _ticket(session, user, ticket_id)
    attachment = await service.access_attachment(
        session=session, ticket=ticket, attachment_id=attachment_id, customer=False
    )
    return file_response(
        attachment.filename, attachment.content_type, await service.read_attachment(attachment=attachment)
    )


def file_response(filename: str, content_type: str, data: bytes) -> Response:
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- working on an order --------------------------------------------------------------------------


@router.post("/{ticket_id}/assign", response_model=TicketDetail, summary="Assign to a person")
async def assign(
    ticket_id: int, body: AssignBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    assignee = await auth.access_staff(session=session, staff_id=body.assignee_id)
    await service.do_assign(
        session=session, ticket=ticket, assignee=assignee, actor=auth.request_actor(request), note=body.note
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/claim", response_model=TicketDetail, summary="Take the order (assign to me)")
async def claim(ticket_id: int, request: Request, session: SessionDep, user: Handler) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_assign(session=session, ticket=ticket, assignee=user, actor=auth.request_actor(request))
    return await _detail(session, ticket)


@router.post("/{ticket_id}/start", response_model=TicketDetail, summary="Start work")
async def start(ticket_id: int, request: Request, session: SessionDep, user: Handler) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_start(session=session, ticket=ticket, actor=auth.request_actor(request))
    return await _detail(session, ticket)


@router.post(
    "/{ticket_id}/request-info", response_model=TicketDetail, summary="Ask the customer (pauses SLA)"
)
async def request_info(
    ticket_id: int, body: RequiredNoteBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_request_info(
        session=session, ticket=ticket, note=body.note, actor=auth.request_actor(request)
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/resume", response_model=TicketDetail, summary="Continue without the customer")
async def resume(
    ticket_id: int, body: NoteBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_resume(session=session, ticket=ticket, actor=auth.request_actor(request), note=body.note)
    return await _detail(session, ticket)


@router.post("/{ticket_id}/resolve", response_model=TicketDetail, summary="Resolve (the customer confirms)")
async def resolve(
    ticket_id: int, body: ResolveBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_resolve(
        session=session, ticket=ticket, resolution=body.resolution, actor=auth.request_actor(request)
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/close", response_model=TicketDetail, summary="Close a resolved order")
async def close(ticket_id: int, request: Request, session: SessionDep, user: Handler) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_close(session=session, ticket=ticket, actor=auth.request_actor(request))
    return await _detail(session, ticket)


@router.post("/{ticket_id}/reopen", response_model=TicketDetail, summary="Reopen")
async def reopen(
    ticket_id: int, body: RequiredNoteBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_reopen(
        session=session, ticket=ticket, actor=auth.request_actor(request), reason=body.note
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/cancel", response_model=TicketDetail, summary="Cancel")
async def cancel(
    ticket_id: int, body: RequiredNoteBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_cancel(
        session=session, ticket=ticket, actor=auth.request_actor(request), reason=body.note
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/transfer", response_model=TicketDetail, summary="Transfer to another team")
async def transfer(
    ticket_id: int, body: TransferBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    team = await dispatch.get_team(session=session, team_id=body.team_id)
    if team is None:
        raise ValidationFailed(f"No team {body.team_id}.", code="team_not_found")
    await service.do_transfer(
        session=session, ticket=ticket, team=team, reason=body.reason, actor=auth.request_actor(request)
    )
    if user.branch_code is not None and ticket.branch_code != user.branch_code:
        # Handed out of the caller's branch: answer with what they may still see.
        return await _detail_brief(session, ticket)
    return await _detail(session, ticket)


async def _detail_brief(session: SessionDep, ticket: Ticket) -> TicketDetail:
    full = await _detail(session, ticket)
    return full.model_copy(update={"timeline": [], "attachments": [], "description": "", "fields": {}})


@router.post("/{ticket_id}/priority", response_model=TicketDetail, summary="Change the priority")
async def set_priority(
    ticket_id: int, body: PriorityBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    await service.do_set_priority(
        session=session,
        ticket=ticket,
        priority=body.priority,
        reason=body.reason,
        actor=auth.request_actor(request),
    )
    return await _detail(session, ticket)


@router.post("/{ticket_id}/subtasks", response_model=TicketDetail, status_code=201, summary="Open a sub-task")
async def subtask(
    ticket_id: int, body: SubtaskCreate, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    ticket = await _ticket(session, user, ticket_id)
    team = await dispatch.get_team(session=session, team_id=body.team_id)
    if team is None:
        raise ValidationFailed(f"No team {body.team_id}.", code="team_not_found")
    child = await service.do_create_subtask(
        session=session,
        parent=ticket,
        team=team,
        title=body.title,
        description=body.description,
        actor=auth.request_actor(request),
    )
    if user.branch_code is not None and child.branch_code != user.branch_code:
        return await _detail_brief(session, child)
    return await _detail(session, child)


@router.post("/{ticket_id}/merge", response_model=TicketDetail, summary="Merge into another order")
async def merge(
    ticket_id: int, body: MergeBody, request: Request, session: SessionDep, user: Handler
) -> TicketDetail:
    source = await _ticket(session, user, ticket_id)
    target = await _ticket(session, user, body.target_id)
    await service.do_merge(
        session=session, source=source, target=target, actor=auth.request_actor(request), reason=body.reason
    )
    return await _detail(session, target)


@router.post("/bulk", response_model=BulkResult, summary="One action on many orders (each succeeds or not)")
async def bulk(body: BulkBody, request: Request, session: SessionDep, user: Handler) -> BulkResult:
    actor = auth.request_actor(request)
    scope = service.StaffScope.of(user)
    assignee = None
    team = None
    if body.action == "assign":
        if body.assignee_id is None:
            raise ValidationFailed("Bulk assign needs assignee_id.", code="assignee_required")
        assignee = await auth.access_staff(session=session, staff_id=body.assignee_id)
    if body.action == "transfer":
        team = await dispatch.get_team(session=session, team_id=body.team_id)
        if team is None:
            raise ValidationFailed("Bulk transfer needs an existing team_id.", code="team_not_found")
    if body.action == "priority" and body.priority is None:
        raise ValidationFailed("Bulk priority needs priority.", code="priority_required")
    if body.action in ("transfer", "cancel", "priority") and len(body.reason.strip()) < 2:
        raise ValidationFailed("Give a reason.", code="reason_required")
    results: list[BulkResultItem] = []
    for ticket_id in dict.fromkeys(body.ids):
        try:
            async with session.begin_nested():
                ticket = await service.access_ticket(session=session, ticket_id=ticket_id, scope=scope)
                if body.action == "assign":
                    assert assignee is not None
                    await service.do_assign(session=session, ticket=ticket, assignee=assignee, actor=actor)
                elif body.action == "transfer":
                    assert team is not None
                    await service.do_transfer(
                        session=session, ticket=ticket, team=team, reason=body.reason, actor=actor
                    )
                elif body.action == "start":
                    await service.do_start(session=session, ticket=ticket, actor=actor)
                elif body.action == "priority":
                    assert body.priority is not None
                    await service.do_set_priority(
                        session=session,
                        ticket=ticket,
                        priority=body.priority,
                        reason=body.reason,
                        actor=actor,
                    )
                else:
                    await service.do_cancel(session=session, ticket=ticket, actor=actor, reason=body.reason)
            results.append(BulkResultItem(id=ticket_id, ok=True))
        except DomainError as exc:
            results.append(BulkResultItem(id=ticket_id, ok=False, code=exc.code, message=exc.message))
    return BulkResult(items=results)
