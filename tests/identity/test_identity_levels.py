"""Effective level, carry-over across channels and hand-off, check_level, recording a verification."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.conversations.models import Conversation
from lingxi.core.errors import Forbidden, ValidationFailed
from lingxi.core.events import OutboxEvent
from lingxi.identity import service


async def conversation(session, customer_id, channel):
    conv = Conversation(
        public_id=str(uuid.uuid4()),
        channel=channel,
        customer_id=customer_id,
        verification_level="L1",
        context={},
    )
    session.add(conv)
    await session.flush()
    return conv


async def record(session, customer, actor, *, channel="webchat", conversation_id=None, level="L2"):
    return await service.do_record_verification(
        session=session,
        customer_id=customer.id,
        level=level,
        method="otp",
        channel=channel,
        conversation_id=conversation_id,
        actor=actor,
    )


async def level_of(session, customer_id, base="L1"):
    return await service.get_effective_level(session=session, customer_id=customer_id, base_level=base)


async def test_base_level_without_verification(session, make_customer, clock):
    customer = await make_customer()
    assert await level_of(session, customer.id) == ("L1", None)
    assert await level_of(session, None, "L0") == ("L0", None)
    with pytest.raises(ValidationFailed):
        await level_of(session, customer.id, "L3")


async def test_l2_carries_over_to_another_channel_inside_the_window(session, make_customer, clock, actor):
    customer = await make_customer()
    app_chat = await conversation(session, customer.id, "app")
    wechat_chat = await conversation(session, customer.id, "wechat")

    verified = await record(session, customer, actor, channel="app", conversation_id=app_chat.id)
    window_end = clock.now + timedelta(minutes=10)
    assert verified.expires_at == window_end

    # on WeChat (another channel, another conversation) the step-up counts without asking again
    clock.advance(minutes=9, seconds=59)
    assert await level_of(session, customer.id) == ("L2", window_end)
    await service.check_level(session=session, customer_id=customer.id, required="L2", base_level="L1")
    assert wechat_chat.verification_level == "L1"  # the stored level is a snapshot of that conversation

    # after the window it is gone everywhere
    clock.advance(seconds=1)
    assert await level_of(session, customer.id) == ("L1", None)
    with pytest.raises(Forbidden):
        await service.check_level(session=session, customer_id=customer.id, required="L2", base_level="L1")


async def test_window_is_configurable(session, make_customer, clock, actor, settings, monkeypatch):
    monkeypatch.setattr(settings, "verification_window_minutes", 3)
    customer = await make_customer()
    verified = await record(session, customer, actor)
    assert verified.expires_at == clock.now + timedelta(minutes=3)
    clock.advance(minutes=3)
    assert (await level_of(session, customer.id))[0] == "L1"


async def test_latest_step_up_wins(session, make_customer, clock, actor):
    customer = await make_customer()
    await record(session, customer, actor)
    clock.advance(minutes=5)
    await record(session, customer, actor, channel="wechat")
    assert await level_of(session, customer.id) == ("L2", clock.now + timedelta(minutes=10))


async def test_verification_of_another_customer_does_not_count(session, make_customer, clock, actor):
    one, other = await make_customer(), await make_customer()
    await record(session, one, actor)
    assert await level_of(session, other.id) == ("L1", None)


async def test_check_level_error(session, make_customer, clock):
    customer = await make_customer()
    with pytest.raises(Forbidden) as err:
        await service.check_level(session=session, customer_id=customer.id, required="L2", base_level="L1")
    assert err.value.code == "step_up_required" and err.value.status_code == 403
    assert err.value.details["required"] == "L2" and err.value.details["current"] == "L1"
    assert err.value.details["message_zh"]
    await service.check_level(session=session, customer_id=customer.id, required="L1", base_level="L1")
    with pytest.raises(Forbidden) as err:
        await service.check_level(session=session, customer_id=None, required="L1", base_level="L0")
    assert err.value.details == {
        "required": "L1",
        "current": "L0",
        "message_zh": err.value.details["message_zh"],
    }


async def test_record_is_audited_emits_event_and_raises_the_conversation(
    session, make_customer, clock, actor
):
    customer = await make_customer()
    conv = await conversation(session, customer.id, "webchat")
    verified = await record(session, customer, actor, conversation_id=conv.id)

    event = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "identity.verified"))
    assert event.payload["verification_id"] == verified.id
    assert event.payload["customer_id"] == customer.id and event.payload["level"] == "L2"
    assert event.payload["conversation_id"] == conv.id
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "identity.verified"))
    assert audit.subject_id == str(customer.id) and audit.after["method"] == "otp"
    assert conv.verification_level == "L2"


async def test_conversation_of_another_customer_is_left_alone(session, make_customer, clock, actor):
    one, other = await make_customer(), await make_customer()
    conv = await conversation(session, other.id, "webchat")
    await record(session, one, actor, conversation_id=conv.id)
    assert conv.verification_level == "L1"
