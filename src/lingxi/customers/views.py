"""HTTP routes of the customers domain: search, the masked 360 view, the audited reveal, the timeline.

Staff with a branch code see only their branch's customers (others answer 404); head office sees all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from lingxi.audit.service import do_record
from lingxi.auth.models import StaffUser
from lingxi.auth.service import Perm, request_actor, require
from lingxi.conversations import service as conversations
from lingxi.conversations.schemas import Timeline, TimelineEntry
from lingxi.core.deps import SessionDep
from lingxi.core.timeutil import as_utc
from lingxi.customers import service
from lingxi.customers.schemas import Customer360, CustomerSearchResult, RevealRequest, RevealResult

router = APIRouter(prefix="/api/customers", tags=["customers"])

Viewer = Annotated[StaffUser, Depends(require(Perm.CUSTOMER_VIEW))]
Revealer = Annotated[StaffUser, Depends(require(Perm.CUSTOMER_REVEAL))]


def branch_scope(user: StaffUser) -> str | None:
    """The branch a staff user is limited to (None = head office, every branch)."""
    return user.branch_code


@router.get("", response_model=CustomerSearchResult, summary="Search customers (masked)")
async def search_customers(
    session: SessionDep,
    user: Viewer,
    q: Annotated[
        str | None, Query(max_length=50, description="customer no., phone or its last digits, ID, name")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> CustomerSearchResult:
    items = await service.search_customers(session=session, q=q, limit=limit, branch_scope=branch_scope(user))
    return CustomerSearchResult(items=items)


@router.get("/{customer_id}/360", response_model=Customer360, summary="Customer 360 view (masked, audited)")
async def customer_360(customer_id: int, request: Request, session: SessionDep, user: Viewer) -> Customer360:
    return await service.build_customer_360(
        session=session,
        customer_id=customer_id,
        actor=request_actor(request),
        branch_scope=branch_scope(user),
    )


@router.post(
    "/{customer_id}/reveal", response_model=RevealResult, summary="Reveal one masked field (audited)"
)
async def reveal(
    customer_id: int, body: RevealRequest, request: Request, session: SessionDep, user: Revealer
) -> RevealResult:
    value = await service.do_reveal(
        session=session,
        customer_id=customer_id,
        field=body.field,
        reason=body.reason,
        actor=request_actor(request),
        branch_scope=branch_scope(user),
    )
    return RevealResult(field=body.field, value=value)


@router.get("/{customer_id}/timeline", response_model=Timeline, summary="Conversations on every channel")
async def timeline(
    customer_id: int,
    request: Request,
    session: SessionDep,
    user: Viewer,
    before: Annotated[
        datetime | None, Query(description="only conversations started before this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Timeline:
    customer = await service.access_customer(
        session=session, customer_id=customer_id, branch_scope=branch_scope(user)
    )
    if before is not None and before.tzinfo is None:
        before = as_utc(before)
    entries = await conversations.list_customer_timeline(
        session=session, customer_id=customer.id, before=before, limit=limit
    )
    summaries = await conversations.build_summaries(session=session, items=[c for c, _ in entries])
    do_record(
        session=session,
        actor=request_actor(request),
        action="customer.view_timeline",
        subject_type="customer",
        subject_id=customer.id,
    )
    return Timeline(
        items=[
            TimelineEntry(conversation=summary, messages=conversations.message_reads(conversation, messages))
            for summary, (conversation, messages) in zip(summaries, entries, strict=True)
        ]
    )
