"""Verification levels (L0/L1/L2), step-up by one-time code or app biometric assertion, and carry-over.

A `Verification` belongs to the customer, not to a channel or a conversation: while it is unexpired
it counts on every channel and after a hand-off, so the customer is never asked twice inside the
window (`settings.verification_window_minutes`).

Errors carry an English `message` (like every API error of Lingxi) and the customer-facing Chinese
text in `details.message_zh`, next to machine-readable fields (`remaining_attempts`,
`retry_after_seconds`, `required`, `current`). Clients pick by `code` and language.

Time comes from this module's `utcnow` so that tests can freeze it
(`monkeypatch.setattr("lingxi.identity.service.utcnow", ...)`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.conversations import service as conversations_service
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, Forbidden, Locked, NotFound, RateLimited, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.masking import mask_phone
from lingxi.core.timeutil import as_utc, utcnow
from lingxi.customers.models import Customer
from lingxi.identity.adapters.sms import get_sms_sender
from lingxi.identity.models import LEVELS, OtpChallenge, Verification
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.identity")

LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
OTP_DIGITS = 6
BIOMETRIC_AUDIENCE = "lingxi-stepup"
BIOMETRIC_MAX_LIFETIME_SECONDS = 120
BIOMETRIC_METHODS = ("face", "fingerprint")
BIOMETRIC_CLOCK_SKEW_SECONDS = 30
# Channels whose client can run inside the bank app and ask it for a biometric assertion.
BIOMETRIC_CHANNELS = ("app", "webchat")
SMS_TEMPLATE = "【灵犀银行】您的验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"


def _check_level_name(level: str) -> None:
    if level not in LEVEL_RANK:
        raise ValidationFailed(f"Unknown verification level '{level}'; use one of {', '.join(LEVELS)}.")


def _zh(details: dict[str, Any] | None, message_zh: str) -> dict[str, Any]:
    return {**(details or {}), "message_zh": message_zh}


# --- levels and carry-over ---------------------------------------------------------------------


async def get_effective_level(
    *, session: AsyncSession, customer_id: int | None, base_level: str
) -> tuple[str, datetime | None]:
    """The higher of the channel's base level and every unexpired verification of the customer.

    `base_level` is what the channel itself establishes (L0 anonymous, L1 identified by app log-in or
    a bound WeChat openid). Verifications reached on any channel count. The second value is when
    the step-up lapses if the result is L2, else None.
    """
    _check_level_name(base_level)
    if customer_id is None:
        return base_level, None
    rows = (
        await session.execute(
            select(Verification.level, func.max(Verification.expires_at))
            .where(Verification.customer_id == customer_id, Verification.expires_at > utcnow())
            .group_by(Verification.level)
        )
    ).all()
    level = base_level
    expiries: dict[str, datetime] = {}
    for row_level, expires_at in rows:
        if row_level not in LEVEL_RANK or expires_at is None:
            continue
        expiries[row_level] = as_utc(expires_at)
        if LEVEL_RANK[row_level] > LEVEL_RANK[level]:
            level = row_level
    return level, (expiries.get("L2") if level == "L2" else None)


async def check_level(
    *, session: AsyncSession, customer_id: int | None, required: str, base_level: str
) -> None:
    """Raise `step_up_required` (403) unless the customer's effective level reaches `required`."""
    _check_level_name(required)
    current, _ = await get_effective_level(session=session, customer_id=customer_id, base_level=base_level)
    if LEVEL_RANK[current] >= LEVEL_RANK[required]:
        return
    if customer_id is None:
        en = "Please log in to the app or bind your WeChat account first."
        zh = "请先登录手机银行或绑定微信后再办理。"
    else:
        en = "This needs an extra verification: enter the SMS code or confirm in the app."
        zh = "该业务需要进一步验证身份，请输入短信验证码或在手机银行中完成刷脸/指纹验证。"
    raise Forbidden(en, code="step_up_required", details=_zh({"required": required, "current": current}, zh))


async def list_step_up_methods(*, session: AsyncSession, customer_id: int | None, channel: str) -> list[str]:
    """Which step-up methods this customer can use on this channel (none when anonymous)."""
    if customer_id is None:
        return []
    methods: list[str] = []
    customer = await session.get(Customer, customer_id)
    if customer is not None and customer.phone:
        methods.append("otp")
    if channel in BIOMETRIC_CHANNELS:
        methods.append("biometric")
    return methods


async def do_record_verification(
    *,
    session: AsyncSession,
    customer_id: int,
    level: str,
    method: str,
    channel: str,
    conversation_id: int | None,
    actor: Actor,
    reference: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> Verification:
    """Store a level reached by the customer, valid on every channel for the verification window.

    `reference` (unique) names the proof so that it counts once; `evidence` is extra, non-secret
    detail for the audit row and the `identity.verified` event (e.g. the biometric modality).
    """
    _check_level_name(level)
    now = utcnow()
    window = timedelta(minutes=get_settings().verification_window_minutes)
    verification = Verification(
        customer_id=customer_id,
        level=level,
        method=method,
        channel=channel,
        conversation_id=conversation_id,
        verified_at=now,
        expires_at=now + window,
        reference=reference,
    )
    session.add(verification)
    try:
        await session.flush()
    except IntegrityError:
        if reference is None:
            raise
        raise Conflict(
            "This proof of identity has already been used; verify again.",
            code="verification_reused",
            details=_zh(None, "该验证凭证已使用过，请重新验证。"),
        ) from None
    facts = {
        "verification_id": verification.id,
        "customer_id": customer_id,
        "level": level,
        "method": method,
        "channel": channel,
        "conversation_id": conversation_id,
        "expires_at": verification.expires_at.isoformat(),
        **(evidence or {}),
    }
    do_record(
        session=session,
        actor=actor,
        action="identity.verified",
        subject_type="customer",
        subject_id=customer_id,
        after=facts,
    )
    emit(session, "identity.verified", facts)
    if conversation_id is not None:
        conversation = await conversations_service.get_conversation(
            session=session, conversation_id=conversation_id
        )
        if conversation is not None and conversation.customer_id == customer_id:
            await conversations_service.do_set_verification_level(
                session=session, conversation=conversation, level=level
            )
    return verification


# --- one-time codes ------------------------------------------------------------------------------


def hash_otp(public_id: str, code: str) -> str:
    """HMAC-SHA256 keyed with the server secret over challenge id + code: the only form ever stored."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{public_id}{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def _retry_after(oldest_counted: datetime, window: timedelta, now: datetime) -> int:
    return max(1, math.ceil((as_utc(oldest_counted) + window - now).total_seconds()))


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


async def _recent_sends(session: AsyncSession, condition: Any, since: datetime) -> Sequence[datetime]:
    stmt = (
        select(OtpChallenge.created_at)
        .where(condition, OtpChallenge.created_at > since)
        .order_by(OtpChallenge.created_at)
    )
    return (await session.scalars(stmt)).all()


async def check_otp_send_allowed(*, session: AsyncSession, customer_id: int, phone: str) -> None:
    """Raise RateLimited if a code may not be sent now.

    Counted from the stored challenges (shared by every process, no extra store): at most
    `otp_send_limit_per_customer` and `otp_send_limit_per_phone` per `otp_send_window_seconds`, and
    at least `otp_resend_interval_seconds` between two codes to the same customer or phone.
    """
    settings = get_settings()
    now = utcnow()
    window = timedelta(seconds=settings.otp_send_window_seconds)
    limits = (
        ("customer", OtpChallenge.customer_id == customer_id, settings.otp_send_limit_per_customer),
        ("phone", OtpChallenge.phone == phone, settings.otp_send_limit_per_phone),
    )
    for scope, condition, limit in limits:
        sent = await _recent_sends(session, condition, now - window)
        if len(sent) >= limit:
            retry = _retry_after(sent[len(sent) - limit], window, now)
            whom_en = "this customer" if scope == "customer" else "this phone number"
            whom_zh = "您的账户" if scope == "customer" else "该手机号"
            error = RateLimited(
                f"Too many codes were sent to {whom_en}: at most {limit} per "
                f"{_minutes(settings.otp_send_window_seconds)} min. Try again in {_minutes(retry)} min.",
                retry_after=retry,
                code="otp_send_limit",
            )
            error.details = _zh(
                {"retry_after_seconds": retry, "scope": scope, "limit": limit},
                f"{whom_zh}获取验证码过于频繁，请{_minutes(retry)}分钟后再试。",
            )
            raise error
    latest = await session.scalar(
        select(func.max(OtpChallenge.created_at)).where(
            or_(OtpChallenge.customer_id == customer_id, OtpChallenge.phone == phone)
        )
    )
    interval = timedelta(seconds=settings.otp_resend_interval_seconds)
    if latest is not None and now - as_utc(latest) < interval:
        retry = _retry_after(latest, interval, now)
        error = RateLimited(
            f"A code was sent a moment ago; you can ask for a new one in {retry} s.",
            retry_after=retry,
            code="otp_resend_too_soon",
        )
        error.details = _zh({"retry_after_seconds": retry}, f"验证码已发送，请{retry}秒后再重新获取。")
        raise error


async def do_send_otp(
    *,
    session: AsyncSession,
    customer_id: int,
    channel: str,
    conversation_id: int | None,
    purpose: str,
    actor: Actor,
) -> OtpChallenge:
    """Send a 6-digit one-time code by SMS to the customer's phone on file.

    The code is stored only as `hash_otp(public_id, code)`; the caller gets the challenge (whose
    `public_id` the client sends back with the code) and shows the phone masked.
    """
    settings = get_settings()
    stmt = select(Customer).where(Customer.id == customer_id)
    if not settings.is_sqlite:  # serialise concurrent sends of one customer so the limits hold exactly
        stmt = stmt.with_for_update()
    customer = await session.scalar(stmt)
    if customer is None:
        raise NotFound("No such customer.", code="customer_not_found")
    if not customer.phone:
        raise ValidationFailed(
            "There is no phone number on file to send a code to; verify in the app or visit a branch.",
            code="no_phone_on_file",
            details=_zh(None, "您未在本行预留手机号，无法发送验证码，请使用手机银行验证或前往网点办理。"),
        )
    await check_otp_send_allowed(session=session, customer_id=customer_id, phone=customer.phone)
    sender = get_sms_sender()
    now = utcnow()
    public_id = str(uuid.uuid4())
    code = _new_code()
    challenge = OtpChallenge(
        public_id=public_id,
        customer_id=customer_id,
        phone=customer.phone,
        purpose=purpose,
        channel=channel,
        conversation_id=conversation_id,
        code_hash=hash_otp(public_id, code),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
        attempts=0,
    )
    session.add(challenge)
    await session.flush()
    text = SMS_TEMPLATE.format(code=code, minutes=_minutes(settings.otp_ttl_seconds))
    await sender.send(session=session, phone=customer.phone, text=text)
    do_record(
        session=session,
        actor=actor,
        action="identity.otp_sent",
        subject_type="customer",
        subject_id=customer_id,
        after={
            "challenge_id": public_id,
            "phone": customer.phone,
            "channel": channel,
            "purpose": purpose,
            "conversation_id": conversation_id,
        },
    )
    log.info("one-time code sent to %s (challenge %s)", mask_phone(customer.phone), public_id)
    return challenge


async def _reserve_attempt(session: AsyncSession, challenge: OtpChallenge, max_attempts: int) -> int | None:
    """Atomically count one try; None if the challenge was consumed or locked in the meantime."""
    result = await session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.id == challenge.id,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.locked_at.is_(None),
            OtpChallenge.attempts < max_attempts,
        )
        .values(attempts=OtpChallenge.attempts + 1)
        .returning(OtpChallenge.attempts)
        .execution_options(synchronize_session=False)
    )
    attempts = result.scalar_one_or_none()
    await session.refresh(challenge)
    return attempts


def _used_error() -> Conflict:
    return Conflict(
        "This code has already been used; request a new code if you need to verify again.",
        code="otp_used",
        details=_zh(None, "该验证码已使用，如需再次验证请重新获取。"),
    )


def _locked_error(max_attempts: int) -> Locked:
    return Locked(
        f"Wrong code entered {max_attempts} times: this code is locked. Request a new code.",
        code="otp_locked",
        details=_zh(
            {"remaining_attempts": 0}, f"验证码已连续输错{max_attempts}次，已失效，请重新获取验证码。"
        ),
    )


async def do_verify_otp(
    *, session: AsyncSession, challenge_public_id: str, code: str, customer_id: int, actor: Actor
) -> Verification:
    """Check a one-time code; success consumes the challenge and records L2 (method "otp").

    Each wrong try is counted atomically in the database (parallel guesses cannot exceed the limit);
    the `otp_max_attempts`-th wrong try locks the challenge. Callers must commit the transaction even
    when this raises, so that the count and the lock are kept (the identity views do).
    """
    settings = get_settings()
    challenge = await session.scalar(
        select(OtpChallenge).where(OtpChallenge.public_id == challenge_public_id)
    )
    if challenge is None or challenge.customer_id != customer_id:
        raise NotFound(
            "No such code request; request a new code.",
            code="otp_not_found",
            details=_zh(None, "验证码不存在，请重新获取。"),
        )
    if challenge.consumed_at is not None:
        raise _used_error()
    if challenge.locked_at is not None or challenge.attempts >= settings.otp_max_attempts:
        raise _locked_error(settings.otp_max_attempts)
    now = utcnow()
    if as_utc(challenge.expires_at) <= now:
        raise ValidationFailed(
            f"This code has expired (codes are valid for {_minutes(settings.otp_ttl_seconds)} min). "
            "Request a new code.",
            code="otp_expired",
            details=_zh(
                None, f"验证码已过期（{_minutes(settings.otp_ttl_seconds)}分钟内有效），请重新获取。"
            ),
        )
    candidate = code.strip().replace(" ", "")
    if len(candidate) != OTP_DIGITS or not candidate.isascii() or not candidate.isdigit():
        raise ValidationFailed(
            f"The code has {OTP_DIGITS} digits; check the SMS and enter it again.",
            code="otp_malformed",
            details=_zh(None, f"请输入短信中的{OTP_DIGITS}位数字验证码。"),
        )
    attempts = await _reserve_attempt(session, challenge, settings.otp_max_attempts)
    if attempts is None:
        raise _used_error() if challenge.consumed_at is not None else _locked_error(settings.otp_max_attempts)
    if not hmac.compare_digest(challenge.code_hash, hash_otp(challenge.public_id, candidate)):
        remaining = settings.otp_max_attempts - attempts
        if remaining <= 0:
            await session.execute(
                update(OtpChallenge)
                .where(OtpChallenge.id == challenge.id)
                .values(locked_at=now)
                .execution_options(synchronize_session=False)
            )
            await session.refresh(challenge)
        do_record(
            session=session,
            actor=actor,
            action="identity.otp_failed",
            subject_type="customer",
            subject_id=customer_id,
            after={"challenge_id": challenge.public_id, "attempts": attempts, "locked": remaining <= 0},
        )
        await session.flush()
        if remaining <= 0:
            raise _locked_error(settings.otp_max_attempts)
        raise ValidationFailed(
            f"Wrong code: {remaining} {'try' if remaining == 1 else 'tries'} left.",
            code="otp_wrong",
            details=_zh({"remaining_attempts": remaining}, f"验证码错误，您还可以再试{remaining}次。"),
        )
    consumed = await session.execute(
        update(OtpChallenge)
        .where(OtpChallenge.id == challenge.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(consumed, "rowcount", 1) == 0:  # a parallel request with the right code won
        raise _used_error()
    await session.refresh(challenge)
    return await do_record_verification(
        session=session,
        customer_id=customer_id,
        level="L2",
        method="otp",
        channel=challenge.channel,
        conversation_id=challenge.conversation_id,
        actor=actor,
        reference=f"otp:{challenge.public_id}",
    )


# --- biometric assertions from the bank app ------------------------------------------------------


def issue_demo_biometric_assertion(
    customer_no: str,
    *,
    method: str = "face",
    seconds: int = 60,
    jti: str | None = None,
    issued_at: datetime | None = None,
    secret: str | None = None,
) -> str:
    """What the demo bank app signs after a successful face or fingerprint check (demo page, tests)."""
    iat = issued_at or utcnow()
    claims = {
        "sub": customer_no,
        "jti": jti or uuid.uuid4().hex,
        "iat": int(iat.timestamp()),
        "exp": int((iat + timedelta(seconds=seconds)).timestamp()),
        "aud": BIOMETRIC_AUDIENCE,
        "method": method,
    }
    return jwt.encode(claims, secret or get_settings().biometric_secret, algorithm="HS256")


async def issue_demo_biometric_assertion_for(*, session: AsyncSession, customer_id: int, method: str) -> str:
    """The demo app's assertion for a customer given by id (the demo chat page's "刷脸验证" button)."""
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("No such customer.", code="customer_not_found")
    return issue_demo_biometric_assertion(customer.customer_no, method=method)


def _bad_assertion(reason_en: str, reason_zh: str, *, code: str = "assertion_invalid") -> ValidationFailed:
    return ValidationFailed(
        f"The app verification is not valid: {reason_en} Try again in the app.",
        code=code,
        details=_zh({"reason": reason_en}, f"手机银行验证无效：{reason_zh}请在手机银行中重新验证。"),
    )


def _decode_assertion(assertion: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            get_settings().biometric_secret,
            algorithms=["HS256"],
            audience=BIOMETRIC_AUDIENCE,
            # exp/iat are checked below against this module's clock (frozen in tests)
            options={
                "require": ["sub", "jti", "iat", "exp", "aud"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidAudienceError:
        raise _bad_assertion("it was not issued for step-up verification.", "用途不符。") from None
    except jwt.InvalidSignatureError:
        raise _bad_assertion("the signature does not match.", "签名不正确。") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _bad_assertion(f"the claim '{exc.claim}' is missing.", "内容不完整。") from None
    except jwt.PyJWTError:
        raise _bad_assertion("it cannot be read.", "格式不正确。") from None
    return claims


async def do_verify_biometric(
    *,
    session: AsyncSession,
    assertion: str,
    customer_id: int,
    channel: str,
    conversation_id: int | None,
    actor: Actor,
) -> Verification:
    """Accept a face/fingerprint assertion signed by the bank app (HS256, `settings.biometric_secret`).

    Claims: sub = customer number, jti (used once), iat, exp (at most 2 minutes after iat),
    aud "lingxi-stepup", method "face" | "fingerprint". Success records L2 (method "biometric").
    """
    claims = _decode_assertion(assertion)
    iat, exp, jti, modality = claims.get("iat"), claims.get("exp"), claims.get("jti"), claims.get("method")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise _bad_assertion("iat and exp must be numeric dates.", "时间格式不正确。")
    if exp - iat > BIOMETRIC_MAX_LIFETIME_SECONDS or exp <= iat:
        raise _bad_assertion(
            f"it must expire within {BIOMETRIC_MAX_LIFETIME_SECONDS} s of being issued.", "有效期过长。"
        )
    now = utcnow().timestamp()
    if iat > now + BIOMETRIC_CLOCK_SKEW_SECONDS:
        raise _bad_assertion("it is dated in the future.", "签发时间不正确。")
    if exp <= now:
        raise _bad_assertion("it has expired.", "已过期。", code="assertion_expired")
    if not isinstance(jti, str) or not 1 <= len(jti) <= 64:
        raise _bad_assertion("jti must be a string of 1 to 64 characters.", "标识不正确。")
    if modality not in BIOMETRIC_METHODS:
        raise _bad_assertion("method must be 'face' or 'fingerprint'.", "验证方式不支持。")
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("No such customer.", code="customer_not_found")
    if str(claims.get("sub")) != customer.customer_no:
        log.warning("biometric assertion for another customer presented by customer %s", customer_id)
        raise Forbidden(
            "This app verification belongs to another customer.",
            code="assertion_wrong_customer",
            details=_zh(None, "该验证不属于当前客户，请使用本人手机银行验证。"),
        )
    reference = f"biometric:{jti}"
    if await session.scalar(select(Verification.id).where(Verification.reference == reference)) is not None:
        log.warning("replayed biometric assertion jti=%s for customer %s", jti, customer_id)
        raise Conflict(
            "This app verification has already been used; verify again in the app.",
            code="assertion_replayed",
            details=_zh(None, "该验证已使用过，请在手机银行中重新验证。"),
        )
    return await do_record_verification(
        session=session,
        customer_id=customer_id,
        level="L2",
        method="biometric",
        channel=channel,
        conversation_id=conversation_id,
        actor=actor,
        reference=reference,
        evidence={"modality": modality},
    )
