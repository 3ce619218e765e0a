"""One-time codes: hashing, expiry, lock-out after wrong tries, send rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from lingxi.audit.models import AuditLog
from lingxi.core.errors import Conflict, Locked, NotFound, RateLimited, ValidationFailed
from lingxi.core.outbound import list_outbound
from lingxi.customers.models import Customer
from lingxi.identity import service
from lingxi.identity.adapters.sms import SmsNotConfigured
from lingxi.identity.models import OtpChallenge, Verification


async def share_phone(session, customer, phone):
    """Two customers with one phone on file (a family phone; the contact point stays unique)."""
    await session.execute(update(Customer).where(Customer.id == customer.id).values(phone=phone))
    customer.phone = phone


async def send(session, customer, actor, **kw):
    return await service.do_send_otp(
        session=session,
        customer_id=customer.id,
        channel=kw.get("channel", "webchat"),
        conversation_id=None,
        purpose="step_up",
        actor=actor,
    )


async def verify(session, challenge, code, customer, actor):
    return await service.do_verify_otp(
        session=session,
        challenge_public_id=challenge.public_id,
        code=code,
        customer_id=customer.id,
        actor=actor,
    )


async def test_code_is_stored_only_as_hmac(session, make_customer, clock, actor, last_code):
    customer = await make_customer()
    challenge = await send(session, customer, actor)
    code = await last_code(session, customer.phone)

    row = await session.scalar(select(OtpChallenge).where(OtpChallenge.id == challenge.id))
    assert row.code_hash == service.hash_otp(row.public_id, code)
    assert len(row.code_hash) == 64 and code not in row.code_hash
    for column in OtpChallenge.__table__.columns:
        assert str(getattr(row, column.key)) != code
    # the audit row of the send does not carry the code and masks the phone
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "identity.otp_sent"))
    assert code not in str(audit.after)
    assert audit.after["phone"] == f"{customer.phone[:3]}****{customer.phone[-4:]}"


async def test_sms_text_and_phone(session, make_customer, clock, actor):
    customer = await make_customer(phone="13912345678")
    await send(session, customer, actor)
    [sms] = await list_outbound(session, adapter="sms")
    assert sms.recipient == "13912345678"
    assert sms.content.startswith("【灵犀银行】您的验证码为")
    assert sms.content.endswith("，5分钟内有效。请勿告诉他人。")


async def test_right_code_gives_l2_once(session, make_customer, clock, actor, last_code):
    customer = await make_customer()
    challenge = await send(session, customer, actor)
    code = await last_code(session, customer.phone)

    verification = await verify(session, challenge, code, customer, actor)
    assert (verification.level, verification.method) == ("L2", "otp")
    assert verification.reference == f"otp:{challenge.public_id}"
    assert verification.expires_at == clock.now + service.timedelta(minutes=10)
    level, expires = await service.get_effective_level(
        session=session, customer_id=customer.id, base_level="L1"
    )
    assert (level, expires) == ("L2", clock.now + service.timedelta(minutes=10))

    with pytest.raises(Conflict) as err:
        await verify(session, challenge, code, customer, actor)
    assert err.value.code == "otp_used"


async def test_code_expires_after_five_minutes(session, make_customer, clock, actor, last_code):
    customer = await make_customer()
    first = await send(session, customer, actor)
    first_code = await last_code(session, customer.phone)
    clock.advance(seconds=299)
    await verify(session, first, first_code, customer, actor)  # still valid at 4:59

    clock.advance(seconds=61)
    second = await send(session, customer, actor)
    second_code = await last_code(session, customer.phone)
    clock.advance(seconds=300)
    with pytest.raises(ValidationFailed) as err:
        await verify(session, second, second_code, customer, actor)
    assert err.value.code == "otp_expired"
    assert "expired" in err.value.message and "过期" in err.value.details["message_zh"]


async def test_five_wrong_tries_lock_the_code(session, make_customer, clock, actor, last_code, wrong):
    customer = await make_customer()
    challenge = await send(session, customer, actor)
    code = await last_code(session, customer.phone)

    for remaining in (4, 3, 2, 1):
        with pytest.raises(ValidationFailed) as err:
            await verify(session, challenge, wrong(code), customer, actor)
        assert err.value.code == "otp_wrong"
        assert err.value.details["remaining_attempts"] == remaining
        assert f"{remaining} tr" in err.value.message
        assert f"还可以再试{remaining}次" in err.value.details["message_zh"]

    with pytest.raises(Locked) as err:
        await verify(session, challenge, wrong(code), customer, actor)
    assert err.value.code == "otp_locked"
    assert "Request a new code" in err.value.message

    # locked: even the right code is refused, and no verification was recorded
    with pytest.raises(Locked):
        await verify(session, challenge, code, customer, actor)
    row = await session.get(OtpChallenge, challenge.id)
    assert row.attempts == 5 and row.locked_at is not None and row.consumed_at is None
    assert await session.scalar(select(Verification).where(Verification.customer_id == customer.id)) is None
    audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "identity.otp_failed"))).all()
    assert len(audit) == 5 and audit[-1].after["locked"] is True


async def test_malformed_code_is_not_counted(session, make_customer, clock, actor):
    customer = await make_customer()
    challenge = await send(session, customer, actor)
    with pytest.raises(ValidationFailed) as err:
        await verify(session, challenge, "12ab", customer, actor)
    assert err.value.code == "otp_malformed"
    assert (await session.get(OtpChallenge, challenge.id)).attempts == 0


async def test_challenge_of_another_customer_is_not_found(session, make_customer, clock, actor, last_code):
    owner, other = await make_customer(), await make_customer()
    challenge = await send(session, owner, actor)
    code = await last_code(session, owner.phone)
    with pytest.raises(NotFound):
        await verify(session, challenge, code, other, actor)
    with pytest.raises(NotFound):
        await service.do_verify_otp(
            session=session, challenge_public_id="nope", code=code, customer_id=owner.id, actor=actor
        )


async def test_resend_interval(session, make_customer, clock, actor):
    customer = await make_customer()
    await send(session, customer, actor)
    clock.advance(seconds=20)
    with pytest.raises(RateLimited) as err:
        await send(session, customer, actor)
    assert err.value.code == "otp_resend_too_soon"
    assert err.value.retry_after == 40
    assert err.value.details["retry_after_seconds"] == 40
    assert "40" in err.value.message and "40秒" in err.value.details["message_zh"]
    clock.advance(seconds=40)
    await send(session, customer, actor)


async def test_limit_per_customer(session, make_customer, clock, actor):
    customer = await make_customer()
    first_sent = clock.now
    for _ in range(5):
        await send(session, customer, actor)
        clock.advance(seconds=61)
    with pytest.raises(RateLimited) as err:
        await send(session, customer, actor)
    assert err.value.code == "otp_send_limit"
    assert err.value.details["scope"] == "customer"
    expected = int((first_sent + service.timedelta(hours=1) - clock.now).total_seconds())
    assert err.value.retry_after == expected
    assert "分钟后再试" in err.value.details["message_zh"]

    clock.now = first_sent + service.timedelta(hours=1, seconds=1)  # the first send leaves the window
    await send(session, customer, actor)


async def test_limit_per_phone_across_customers(session, make_customer, clock, actor):
    shared = "13700001111"
    husband, wife = await make_customer(phone=shared), await make_customer()
    await share_phone(session, wife, shared)
    for who in (husband, husband, husband, wife, wife):
        await send(session, who, actor)
        clock.advance(seconds=61)
    with pytest.raises(RateLimited) as err:
        await send(session, wife, actor)  # the wife has sent only 2, the phone has received 5
    assert err.value.details["scope"] == "phone"
    assert "phone number" in err.value.message


async def test_resend_interval_is_per_phone_too(session, make_customer, clock, actor):
    shared = "13700002222"
    a, b = await make_customer(phone=shared), await make_customer()
    await share_phone(session, b, shared)
    await send(session, a, actor)
    with pytest.raises(RateLimited):
        await send(session, b, actor)


async def test_demo_sms_refused_in_prod(session, make_customer, clock, actor, settings, monkeypatch):
    customer = await make_customer()
    monkeypatch.setattr(settings, "env", "prod")
    with pytest.raises(SmsNotConfigured) as err:
        await send(session, customer, actor)
    assert err.value.status_code == 503
