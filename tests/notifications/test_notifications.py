"""Customer notices: channel choice (WeChat window, app push, SMS), consent, quiet hours and the
deferred flush; staff notices in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

import lingxi.handlers  # noqa: F401  (the outbox handlers, as the app registers them)
from lingxi.conversations.models import Message
from lingxi.core.events import get_dispatcher
from lingxi.core.outbound import OutboundRecord
from lingxi.customers.models import ContactPoint
from lingxi.notifications import service
from lingxi.notifications.adapters.ports import set_port
from lingxi.notifications.models import Notification

ZONE = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "until"),
    [
        (at(20, 59), None),
        (at(21, 0), datetime(2026, 12, 1, 8, 0, tzinfo=ZONE).astimezone(UTC)),
        (at(3, 0), at(8, 0)),
        (at(8, 0), None),
        (at(12, 0), None),
    ],
)
def test_quiet_hours_span_midnight(moment, until):
    assert service.quiet_until(moment) == until


def test_quiet_hours_within_one_day_and_switched_off(settings, monkeypatch):
    monkeypatch.setattr(settings, "quiet_hours_start", "12:00")
    monkeypatch.setattr(settings, "quiet_hours_end", "14:00")
    assert service.quiet_until(at(13, 0)) == at(14, 0)
    assert service.quiet_until(at(14, 0)) is None
    monkeypatch.setattr(settings, "quiet_hours_end", "12:00")
    assert service.quiet_until(at(23, 0)) is None


async def sent(db) -> list[OutboundRecord]:
    async with db.sessionmaker() as s:
        return list((await s.scalars(select(OutboundRecord).order_by(OutboundRecord.id))).all())


async def notify(db, customer_id: int, **kwargs) -> Notification:
    async with db.sessionmaker() as s:
        row = await service.do_notify_customer(
            session=s, customer_id=customer_id, topic="ticket.test", text="您的工单有新进展", **kwargs
        )
        await s.commit()
    await get_dispatcher().drain()
    async with db.sessionmaker() as s:
        return await s.get(Notification, row.id)


async def test_quiet_hours_defer_until_morning(db, make_customer):
    customer = await make_customer()
    row = await notify(db, customer.id, now=at(22, 30), channel_hint="sms")
    assert row.status == "deferred" and row.send_after == datetime(2026, 12, 1, 8, 0, tzinfo=ZONE).astimezone(
        UTC
    )
    assert await sent(db) == []
    async with db.sessionmaker() as s:
        early = datetime(2026, 12, 1, 7, 59, tzinfo=ZONE)
        assert await service.do_flush_deferred(session=s, now=early) == 0  # still quiet
        assert await service.do_flush_deferred(session=s, now=datetime(2026, 12, 1, 8, 1, tzinfo=ZONE)) == 1
        await s.commit()
    await get_dispatcher().drain()
    assert [r.adapter for r in await sent(db)] == ["sms"]
    urgent = await notify(db, customer.id, now=at(23, 0), urgent=True)
    assert urgent.status == "sent"


async def test_channel_choice(db, make_customer):
    now = datetime.now(UTC)
    quiet_free = {"now": at(10, 0)}
    app_customer = await make_customer(preferred_channel="app")
    row = await notify(db, app_customer.id, channel_hint="webchat", **quiet_free)
    assert (row.status, row.channel) == ("sent", "app_push")
    sms_customer = await make_customer(preferred_channel="app")
    row = await notify(db, sms_customer.id, channel_hint="phone", **quiet_free)
    assert row.channel == "sms"
    assert (await sent(db))[-1].recipient == sms_customer.phone
    wechat = await make_customer(preferred_channel="wechat")
    async with db.sessionmaker() as s:
        s.add(ContactPoint(customer_id=wechat.id, kind="wechat_openid", value="oDemoWeChatOpenId0001"))
        await s.commit()
    row = await notify(db, wechat.id, channel_hint="wechat", **quiet_free)
    assert row.channel == "sms"  # no message from the customer on WeChat in the last 48 hours
    from lingxi.conversations import service as conversations

    async with db.sessionmaker() as s:
        conversation, _ = await conversations.get_or_open_conversation(
            session=s,
            channel="wechat",
            customer_id=wechat.id,
            visitor_id=None,
            language="zh-CN",
            verification_level="L1",
        )
        await conversations.do_add_message(
            session=s, conversation=conversation, sender_type="customer", content="你好"
        )
        await s.commit()
    row = await notify(db, wechat.id, channel_hint="wechat", **quiet_free)
    assert row.channel == "wechat_cs" and (await sent(db))[-1].recipient == "oDemoWeChatOpenId0001"
    async with db.sessionmaker() as s:
        await s.execute(update(Message).values(created_at=now - timedelta(hours=49)))
        await s.commit()
    row = await notify(db, wechat.id, channel_hint="wechat", **quiet_free)
    assert row.channel == "sms"


async def test_no_consent_no_notice(db, make_customer):
    customer = await make_customer(consent_service_notice=False)
    row = await notify(db, customer.id, now=at(10, 0))
    assert row.status == "skipped" and row.last_error == "customer declined service notices"
    assert await sent(db) == []


async def test_a_failing_gateway_is_retried(db, make_customer):
    class Down:
        async def send(self, **_: object) -> None:
            raise ConnectionError("gateway down")

    customer = await make_customer()
    set_port("sms", Down())
    try:
        row = await notify(db, customer.id, now=at(10, 0), channel_hint="phone")
    finally:
        set_port("sms", None)
    assert row.status == "pending"  # the outbox keeps the event and retries with back-off
    async with db.sessionmaker() as s:
        assert await service.do_deliver(session=s, notification_id=row.id)
        await s.commit()
    assert [r.adapter for r in await sent(db)] == ["sms"]
    async with db.sessionmaker() as s:
        assert not await service.do_deliver(session=s, notification_id=row.id)  # exactly once


async def test_staff_notices_in_the_console(api, db, make_staff):
    alice, alice_token = await make_staff("back_office")
    bob, bob_token = await make_staff("back_office")
    async with db.sessionmaker() as s:
        await service.do_notify_staff(
            session=s,
            staff_ids=[alice.id, alice.id],
            topic="ticket.urged",
            text="客户催办",
            subject_type="ticket",
            subject_id=7,
        )
        await s.commit()
    r = await api.get("/api/notifications", headers={"Authorization": f"Bearer {alice_token}"})
    body = r.json()
    assert body["unread"] == 1 and body["items"][0]["content"] == "客户催办"
    notice_id = body["items"][0]["id"]
    r = await api.post(
        f"/api/notifications/{notice_id}/read", headers={"Authorization": f"Bearer {bob_token}"}
    )
    assert r.status_code == 404
    r = await api.post(
        f"/api/notifications/{notice_id}/read", headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert r.status_code == 200 and r.json()["read_at"]
    r = await api.get(
        "/api/notifications", params={"unread_only": True}, headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert r.json() == {"items": [], "unread": 0}
