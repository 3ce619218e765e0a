"""Signed inbound webhook: SMS gateways, IVR transcripts and other bank systems post customer messages here.

`POST /api/channels/webhook/{source}` where `source` is a key of `settings.webhook_secrets`.

Headers (all required):
  X-Lingxi-Timestamp   Unix time in seconds; refused when more than `webhook_max_skew_seconds` off
  X-Lingxi-Signature   hex HMAC-SHA256(secret, f"{timestamp}." + raw body)   (`sign_webhook` below)
  X-Idempotency-Key    1–128 characters [A-Za-z0-9._:-]; the same key with the same body answers the
                       stored response again (header `Idempotent-Replayed: true`) and stores nothing;
                       the same key with a different body is refused (409)

Body: {"channel": "sms" | "ivr" | "webhook", "from": "+8613800138000" | "customer:C0000001",
       "text": "…", "occurred_at": "2026-11-29T10:00:00+08:00", "reference": "call-123",
       "transcript": [{"speaker": "customer" | "agent" | "ivr", "text": "…", "at": "…"}]}

Identification: the sender's phone is looked up among customers' phone contact points. A caller ID
or an SMS sender number can be spoofed, so it *identifies* the customer (the conversation is theirs
and joins their timeline) but verifies nothing: the conversation stays at L0 and no earlier step-up
is carried over to it. A system that verified the customer itself names them as `customer:<no>`,
which is trusted as much as the source's secret (still L0 here; see docs/channels.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from typing import Any, Literal, NoReturn

from fastapi import APIRouter, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.bot import service as bot
from lingxi.channels import deliveries
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.db import commit, get_database
from lingxi.core.errors import Conflict, DomainError, TooLarge, ValidationFailed
from lingxi.core.masking import mask_phone
from lingxi.customers import service as customers
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.channels.webhook")

router = APIRouter(prefix="/api/channels/webhook", tags=["channels: signed webhook"])

CHANNEL = "webhook"  # InboundDelivery.channel
TIMESTAMP_HEADER = "X-Lingxi-Timestamp"
SIGNATURE_HEADER = "X-Lingxi-Signature"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_BODY_BYTES = 256 * 1024
MAX_TRANSCRIPT_LINES = 500
WAIT_FOR_PARALLEL_SECONDS = 5.0
LEASE_SECONDS = 60.0
SOURCE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CUSTOMER_REF = "customer:"

SPEAKERS = {"customer": "customer", "agent": "agent", "ivr": "bot", "bot": "bot", "system": "system"}
SPEAKER_NAMES = {"agent": "电话客服", "ivr": "语音导航", "bot": "语音导航", "system": "系统"}


def sign_webhook(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """hex HMAC-SHA256(secret, f"{timestamp}." + body): what the sender puts in X-Lingxi-Signature."""
    raw = body.encode() if isinstance(body, str) else body
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


# --- shapes -------------------------------------------------------------------------------------------


class TranscriptLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["customer", "agent", "ivr", "bot", "system"]
    text: str = Field(min_length=1, max_length=4000)
    at: AwareDatetime | None = None


class WebhookMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    channel: Literal["sms", "ivr", "webhook"]
    sender: str = Field(
        alias="from",
        min_length=1,
        max_length=64,
        description="The customer's phone number, or customer:<customer_no>",
    )
    text: str | None = Field(
        None, max_length=20000, description="The message (sms, webhook); a summary (ivr)"
    )
    occurred_at: AwareDatetime
    reference: str | None = Field(
        None, max_length=100, description="The sender's id for it, e.g. the call id"
    )
    transcript: list[TranscriptLine] | None = Field(None, max_length=MAX_TRANSCRIPT_LINES)
    language: Literal["zh-CN", "en"] = "zh-CN"

    @model_validator(mode="after")
    def _content(self) -> WebhookMessage:
        if self.channel == "ivr":
            if not self.transcript:
                raise ValueError("an ivr delivery needs a non-empty transcript")
        else:
            if self.transcript:
                raise ValueError(f"transcript is only for channel ivr, not {self.channel}")
            if not self.text or not self.text.strip():
                raise ValueError(f"a {self.channel} delivery needs text")
        return self


class WebhookReply(BaseModel):
    text: str


class WebhookAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    idempotency_key: str
    conversation_id: str
    channel: str
    customer_identified: bool
    verification_level: str
    messages_stored: int
    replies: list[WebhookReply] = Field(
        default_factory=list, description="The bot's immediate answers, for the gateway to send back (sms)"
    )


# --- errors and checks ----------------------------------------------------------------------------------


class WebhookUnauthenticated(DomainError):
    """401 without a bearer challenge: the caller proves itself by signature."""

    status_code = 401
    code = "webhook_bad_signature"


class WebhookBadRequest(DomainError):
    status_code = 400
    code = "webhook_bad_request"


def _reject(request: Request, source: str, error: DomainError, reason: str) -> NoReturn:
    client = request.client.host if request.client else "-"
    log.warning(
        "webhook %s rejected: %s %s (%s) from %s", source[:64], error.status_code, error.code, reason, client
    )
    raise error


async def _read_body(request: Request, source: str) -> bytes:
    too_large = TooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.", code="webhook_body_too_large")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        _reject(request, source, too_large, f"content-length {length}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            _reject(request, source, too_large, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _authenticate(request: Request, source: str, body: bytes) -> str:
    """Check source, timestamp and signature; returns the idempotency key."""
    settings = get_settings()
    secret = settings.webhook_secrets.get(source) if SOURCE_RE.match(source) else None
    if not secret:
        _reject(
            request,
            source,
            WebhookUnauthenticated(
                f"Unknown webhook source '{source[:64]}': a source must be configured with a secret "
                "(LINGXI_WEBHOOK_SECRETS).",
                code="webhook_unknown_source",
            ),
            "unknown source",
        )
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    given = request.headers.get(SIGNATURE_HEADER, "").strip().lower().removeprefix("sha256=")
    if not timestamp or not given:
        _reject(
            request,
            source,
            WebhookUnauthenticated(
                f"Sign the request: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required.",
                code="webhook_unsigned",
            ),
            "unsigned",
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        _reject(
            request,
            source,
            WebhookUnauthenticated(
                f"{TIMESTAMP_HEADER} must be a Unix time in seconds.", code="webhook_bad_timestamp"
            ),
            "bad timestamp",
        )
    skew = abs(time.time() - int(timestamp))
    if skew > settings.webhook_max_skew_seconds:
        _reject(
            request,
            source,
            WebhookUnauthenticated(
                f"{TIMESTAMP_HEADER} is {int(skew)} s away from the server's clock; at most "
                f"{settings.webhook_max_skew_seconds} s are accepted. Sign with the current time.",
                code="webhook_stale_timestamp",
            ),
            f"skew {int(skew)} s",
        )
    if not hmac.compare_digest(sign_webhook(secret, timestamp, body), given):
        _reject(
            request,
            source,
            WebhookUnauthenticated(
                f"{SIGNATURE_HEADER} does not match: sign hex HMAC-SHA256(secret, timestamp + '.' + body)."
            ),
            "signature mismatch",
        )
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not KEY_RE.match(key):
        _reject(
            request,
            source,
            WebhookBadRequest(
                f"{IDEMPOTENCY_HEADER} is required: 1-128 characters of A-Z a-z 0-9 . _ : -",
                code="idempotency_key_required",
            ),
            "no/bad idempotency key",
        )
    return key


def _parse(request: Request, source: str, body: bytes) -> WebhookMessage:
    try:
        message = WebhookMessage.model_validate_json(body)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            _reject(
                request,
                source,
                WebhookBadRequest("The body is not valid JSON.", code="webhook_bad_json"),
                "bad json",
            )
        fields = ", ".join(p["field"] for p in problems)
        _reject(
            request,
            source,
            ValidationFailed(f"Invalid webhook body: check {fields}.", details=problems),
            "invalid body",
        )
    if message.sender.startswith(CUSTOMER_REF):
        sender_ok = bool(message.sender[len(CUSTOMER_REF) :].strip())
    else:
        sender_ok = (
            bool(re.fullmatch(r"\+?[\d\s()-]{5,30}", message.sender))
            and 5 <= len(normalize_phone(message.sender)) <= 20
        )
    if not sender_ok:
        _reject(
            request,
            source,
            ValidationFailed(
                "'from' must be a phone number or customer:<customer_no>.", code="webhook_bad_sender"
            ),
            "bad sender",
        )
    max_chars = get_settings().max_message_chars
    texts = (
        [message.text or ""] if message.channel != "ivr" else [line.text for line in message.transcript or []]
    )
    if any(len(t) > max_chars for t in texts):
        _reject(
            request,
            source,
            TooLarge(f"A message is longer than {max_chars} characters.", code="message_too_long"),
            "text too long",
        )
    return message


# --- processing -----------------------------------------------------------------------------------------


def normalize_phone(value: str) -> str:
    """Digits only, without a +86/0086 prefix for mainland mobiles (how phone contact points are stored)."""
    digits = re.sub(r"[^\d]", "", value)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix) :]
    return digits


async def _identify(session: AsyncSession, sender: str) -> tuple[Any, str]:
    """(customer or None, channel user id) for the `from` field."""
    if sender.startswith(CUSTOMER_REF):
        customer_no = sender[len(CUSTOMER_REF) :].strip()
        customer = await customers.get_customer_by_no(session=session, customer_no=customer_no)
        return customer, sender
    phone = normalize_phone(sender)
    return await customers.get_customer_by_contact(session=session, kind="phone", value=phone), phone


def _client_msg_id(source: str, key: str, n: int | None = None) -> str:
    digest = hashlib.sha256(f"{source}\x00{key}".encode()).hexdigest()[:40]
    return f"wh:{digest}" if n is None else f"wh:{digest}:{n}"


async def do_ingest(
    *, session: AsyncSession, source: str, key: str, body: WebhookMessage
) -> tuple[WebhookAccepted, int | None]:
    """Store one webhook delivery; returns the response and the first stored message id. Flushes only."""
    customer, channel_user = await _identify(session, body.sender)
    name = (
        customers.display_name(customer)
        if customer is not None
        else (mask_phone(channel_user) if not channel_user.startswith(CUSTOMER_REF) else "客户")
    )
    actor = Actor.system(f"webhook:{source}")
    stored: list[int] = []
    replies: list[WebhookReply] = []
    conversation: Conversation
    if body.channel == "ivr":
        # One conversation per call, closed because the call has ended.
        call = body.reference or key
        conversation, _ = await conversations.get_or_open_conversation(
            session=session,
            channel="ivr",
            channel_user_id=f"call:{source}:{call}"[:200],
            language=body.language,
        )
        if customer is not None and conversation.customer_id is None:
            await conversations.do_attach_customer(
                session=session, conversation=conversation, customer_id=customer.id, level="L0", actor=actor
            )
        for n, line in enumerate(body.transcript or []):
            sender_type = SPEAKERS[line.speaker]
            message, created = await conversations.do_add_message(
                session=session,
                conversation=conversation,
                sender_type=sender_type,
                content=line.text,
                sender_name=name if sender_type == "customer" else SPEAKER_NAMES.get(line.speaker),
                client_msg_id=_client_msg_id(source, key, n),
                payload={
                    "source": source,
                    "at": (line.at or body.occurred_at).isoformat(),
                    "speaker": line.speaker,
                },
            )
            if created:
                stored.append(message.id)
        if body.text and body.text.strip():
            conversation.context = {**conversation.context, "ivr_summary": body.text[:2000]}
        await conversations.do_close(
            session=session, conversation=conversation, outcome="call_ended", actor=actor
        )
    else:
        if customer is not None:
            conversation, _ = await conversations.get_or_open_conversation(
                session=session,
                channel=body.channel,
                customer_id=customer.id,
                channel_user_id=channel_user,
                language=body.language,
                verification_level="L0",
            )
        else:
            conversation, _ = await conversations.get_or_open_conversation(
                session=session,
                channel=body.channel,
                channel_user_id=channel_user,
                language=body.language,
            )
        payload: dict[str, Any] = {"source": source, "occurred_at": body.occurred_at.isoformat()}
        if body.reference:
            payload["reference"] = body.reference
        text = (body.text or "").strip()
        message, created = await conversations.do_add_message(
            session=session,
            conversation=conversation,
            sender_type="customer",
            content=bot.redact_inbound(conversation, text),
            client_msg_id=_client_msg_id(source, key),
            sender_name=name,
            payload=payload,
        )
        bot_replies = (
            await bot.do_bot_turn(session=session, conversation=conversation, message=message, text=text)
            if created
            else []
        )
        stored.append(message.id)
        stored.extend(m.id for m in bot_replies)
        replies = [WebhookReply(text=m.content) for m in bot_replies if m.content.strip()]
    do_record(
        session=session,
        actor=actor,
        action="channel.webhook_received",
        subject_type="conversation",
        subject_id=conversation.id,
        after={
            "source": source,
            "channel": body.channel,
            "idempotency_key": key,
            "customer_id": customer.id if customer is not None else None,
            "messages": len(stored),
        },
    )
    response = WebhookAccepted(
        idempotency_key=key,
        conversation_id=conversation.public_id,
        channel=body.channel,
        customer_identified=customer is not None,
        verification_level=conversation.verification_level,
        messages_stored=len(stored),
        replies=replies,
    )
    return response, (stored[0] if stored else None)


async def _process(claim: deliveries.Claim, source: str, key: str, body: WebhookMessage) -> WebhookAccepted:
    try:
        async with get_database().sessionmaker() as session:
            try:
                response, first_id = await do_ingest(session=session, source=source, key=key, body=body)
                await deliveries.do_complete_delivery(
                    session=session,
                    claim=claim,
                    reply=response.model_dump_json(),
                    reply_mode="json",
                    message_id=first_id,
                )
                await commit(session)
                return response
            except BaseException:
                session.info.pop("after_commit", None)
                await session.rollback()
                raise
    except deliveries.ClaimLost:
        raise Conflict(
            "This delivery was taken over by a retry; retry to get its result.",
            code="idempotency_in_progress",
        ) from None
    except BaseException:
        await deliveries.release_claim(claim)
        raise


def _replay(snapshot: deliveries.Snapshot, request_hash: str, response: Response) -> WebhookAccepted | None:
    if snapshot.request_hash != request_hash:
        raise Conflict(
            f"This {IDEMPOTENCY_HEADER} was already used for a different body; use a new key.",
            code="idempotency_key_reused",
        )
    if snapshot.status == "done" and snapshot.reply:
        response.headers[REPLAYED_HEADER] = "true"
        return WebhookAccepted.model_validate_json(snapshot.reply)
    return None


@router.post(
    "/{source}",
    response_model=WebhookAccepted,
    responses={
        400: {"description": "Bad JSON or no idempotency key"},
        401: {"description": "Unknown source, unsigned, stale timestamp or bad signature"},
        409: {"description": "Idempotency key reused for another body, or still in progress"},
        413: {"description": "Body or message too large"},
        422: {"description": "Invalid body"},
    },
)
async def receive_webhook(source: str, request: Request, response: Response) -> WebhookAccepted:
    """Store a customer message (sms, other systems) or a call transcript (ivr), exactly once per key."""
    body = await _read_body(request, source)
    key = _authenticate(request, source, body)
    message = _parse(request, source, body)
    request_hash = hashlib.sha256(body).hexdigest()
    dedup_key = f"{source}:{key}"
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + WAIT_FOR_PARALLEL_SECONDS
    while True:
        outcome = await deliveries.claim_delivery(
            channel=CHANNEL, dedup_key=dedup_key, lease_seconds=LEASE_SECONDS, request_hash=request_hash
        )
        if isinstance(outcome, deliveries.Claim):
            return await _process(outcome, source, key, message)
        replayed = _replay(outcome, request_hash, response)
        if replayed is not None:
            log.info("webhook %s: replay of key %s answered from storage", source, key)
            return replayed
        # The same delivery is being processed in parallel: wait briefly for its outcome.
        while loop.time() < give_up_at:
            await asyncio.sleep(0.1)
            snapshot = await deliveries.get_delivery(channel=CHANNEL, dedup_key=dedup_key)
            if snapshot is None or snapshot.is_stale(LEASE_SECONDS):
                break  # the other attempt failed (released the key) or died: claim it here
            replayed = _replay(snapshot, request_hash, response)
            if replayed is not None:
                return replayed
        else:
            raise Conflict(
                "A delivery with this idempotency key is still being processed; retry shortly.",
                code="idempotency_in_progress",
                details={"retry_after_seconds": 1},
            )
