"""HTTP routes of the identity domain: the chat customer's step-up, and the developer inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm
from lingxi.auth.service import require
from lingxi.channels.chat_session import ChatSession, CurrentChat
from lingxi.core.actor import Actor
from lingxi.core.db import commit
from lingxi.core.deps import SessionDep
from lingxi.core.errors import DomainError, Forbidden, NotFound
from lingxi.core.masking import mask_phone
from lingxi.core.outbound import list_outbound
from lingxi.identity import service
from lingxi.identity.schemas import (
    BiometricIn,
    DemoAssertionIn,
    DemoAssertionOut,
    IdentityStatus,
    LevelOut,
    OtpSendIn,
    OtpSent,
    OtpVerifyIn,
    OutboundItem,
    OutboundList,
)
from lingxi.settings import get_settings

router = APIRouter(tags=["identity"])


def _base_level(chat: ChatSession) -> str:
    """What the chat channel itself establishes: L1 when the session names a customer, else L0."""
    return "L1" if chat.customer_id is not None else "L0"


def _customer_id(chat: ChatSession) -> int:
    if chat.customer_id is None:
        raise Forbidden(
            "Log in to the bank app (or bind your WeChat account) before verifying your identity.",
            code="identification_required",
            details={"message_zh": "请先登录手机银行或绑定微信，再进行身份验证。"},
        )
    return chat.customer_id


def _actor(chat: ChatSession, request: Request) -> Actor:
    ip = request.client.host if request.client else None
    if chat.customer_id is None:
        return Actor(type="visitor", id=(chat.visitor_id or "anonymous")[:64], ip=ip)
    return Actor(type="customer", id=str(chat.customer_id), ip=ip)


async def _keep_failed_try(session: AsyncSession) -> None:
    """A rejected code or assertion still counts: commit the attempt counter, lock and audit rows
    before the error response (the request wrapper would roll them back)."""
    if session.is_active:
        await commit(session)


async def _level_out(session: AsyncSession, customer_id: int) -> LevelOut:
    level, expires_at = await service.get_effective_level(
        session=session, customer_id=customer_id, base_level="L1"
    )
    return LevelOut(level=level, expires_at=expires_at)


@router.get("/api/identity/status", response_model=IdentityStatus)
async def identity_status(chat: CurrentChat, session: SessionDep) -> IdentityStatus:
    level, expires_at = await service.get_effective_level(
        session=session, customer_id=chat.customer_id, base_level=_base_level(chat)
    )
    methods = await service.list_step_up_methods(
        session=session, customer_id=chat.customer_id, channel=chat.channel
    )
    return IdentityStatus(level=level, expires_at=expires_at, methods_available=methods)


@router.post("/api/identity/otp", response_model=OtpSent)
async def send_otp(
    chat: CurrentChat, session: SessionDep, request: Request, body: OtpSendIn | None = None
) -> OtpSent:
    customer_id = _customer_id(chat)
    challenge = await service.do_send_otp(
        session=session,
        customer_id=customer_id,
        channel=chat.channel,
        conversation_id=chat.conversation_id,
        purpose=(body or OtpSendIn()).purpose,
        actor=_actor(chat, request),
    )
    settings = get_settings()
    return OtpSent(
        challenge_id=challenge.public_id,
        phone_masked=mask_phone(challenge.phone) or "",
        expires_in_seconds=settings.otp_ttl_seconds,
        resend_after_seconds=settings.otp_resend_interval_seconds,
    )


@router.post("/api/identity/otp/verify", response_model=LevelOut)
async def verify_otp(chat: CurrentChat, session: SessionDep, request: Request, body: OtpVerifyIn) -> LevelOut:
    customer_id = _customer_id(chat)
    try:
        await service.do_verify_otp(
            session=session,
            challenge_public_id=body.challenge_id,
            code=body.code,
            customer_id=customer_id,
            actor=_actor(chat, request),
        )
    except DomainError:
        await _keep_failed_try(session)
        raise
    return await _level_out(session, customer_id)


@router.post("/api/identity/biometric", response_model=LevelOut)
async def verify_biometric(
    chat: CurrentChat, session: SessionDep, request: Request, body: BiometricIn
) -> LevelOut:
    customer_id = _customer_id(chat)
    await service.do_verify_biometric(
        session=session,
        assertion=body.assertion,
        customer_id=customer_id,
        channel=chat.channel,
        conversation_id=chat.conversation_id,
        actor=_actor(chat, request),
    )
    return await _level_out(session, customer_id)


def _dev_only() -> None:
    """Demo conveniences do not exist in production (404, as if the route were not there)."""
    if get_settings().env == "prod":
        raise NotFound("Not Found")


@router.post(
    "/api/identity/biometric/demo-assertion",
    response_model=DemoAssertionOut,
    dependencies=[Depends(_dev_only)],
    summary="Demo only: what the bank app would sign after a face/fingerprint check",
)
async def demo_biometric_assertion(
    chat: CurrentChat, session: SessionDep, body: DemoAssertionIn | None = None
) -> DemoAssertionOut:
    method = (body or DemoAssertionIn()).method
    assertion = await service.issue_demo_biometric_assertion_for(
        session=session, customer_id=_customer_id(chat), method=method
    )
    return DemoAssertionOut(assertion=assertion)


@router.get("/api/dev/inbox", response_model=OutboundList, dependencies=[Depends(_dev_only)])
async def dev_inbox(
    session: SessionDep,
    _user: Annotated[StaffUser, Depends(require(Perm.DEV_INBOX))],
    adapter: Annotated[str | None, Query(max_length=30)] = None,
    recipient: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboundList:
    """The demo outbox: what demo adapters (SMS, WeChat, app push) would have sent, newest first.

    Recipients and contents are shown as stored (this is demo data; prod has no demo adapters)."""
    rows = await list_outbound(session, adapter=adapter or None, recipient=recipient or None, limit=limit)
    return OutboundList(
        items=[
            OutboundItem(
                id=r.id,
                adapter=r.adapter,
                recipient=r.recipient,
                content=r.content,
                meta=r.meta,
                created_at=r.created_at,
            )
            for r in rows
        ]
    )
