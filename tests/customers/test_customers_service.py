"""Customers service: contact points (link / unlink), look-ups, reveal checks, the 360 of a bare customer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.core.events import OutboxEvent
from lingxi.customers import service
from lingxi.customers.adapters.core_banking import CoreBanking
from lingxi.customers.models import ContactPoint

ACTOR = Actor(type="staff", id="7", name="测试坐席", role="agent")
OPENID = "oDemoAbCdEfGhIjKlMnOpQrStUv"


async def test_link_contact_point_is_idempotent_and_audited(make_customer, session):
    wang = await make_customer()
    point = await service.do_link_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=OPENID, actor=ACTOR
    )
    again = await service.do_link_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=f" {OPENID} ", actor=ACTOR
    )
    assert again.id == point.id and point.verified_at is not None
    await session.commit()

    found = await service.get_customer_by_contact(session=session, kind="wechat_openid", value=OPENID)
    assert found is not None and found.id == wang.id
    audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "customer.link_contact"))).all()
    assert len(audits) == 1
    assert audits[0].after["value"] == "oDemoA****StUv" and OPENID not in str(audits[0].after)
    events = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == service.CONTACT_POINT_LINKED)
    )
    assert [e.payload["customer_id"] for e in events] == [wang.id]
    await session.commit()


async def test_link_of_another_customers_identity_conflicts(make_customer, session):
    wang = await make_customer()
    li = await make_customer()
    await service.do_link_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=OPENID, actor=ACTOR
    )
    with pytest.raises(Conflict) as err:
        await service.do_link_contact_point(
            session=session, customer_id=li.id, kind="wechat_openid", value=OPENID, actor=ACTOR
        )
    assert err.value.code == "contact_point_taken"
    with pytest.raises(Conflict):  # the phone contact of make_customer
        await service.do_link_contact_point(
            session=session, customer_id=li.id, kind="phone", value=f"+86 {wang.phone}", actor=ACTOR
        )
    with pytest.raises(NotFound):
        await service.do_link_contact_point(
            session=session, customer_id=9999, kind="email", value="a@b.cn", actor=ACTOR
        )
    with pytest.raises(ValidationFailed):
        await service.do_link_contact_point(
            session=session, customer_id=li.id, kind="fax", value="1", actor=ACTOR
        )
    await session.rollback()


async def test_unverified_link_becomes_verified(make_customer, session):
    wang = await make_customer()
    point = await service.do_link_contact_point(
        session=session,
        customer_id=wang.id,
        kind="email",
        value="Wang.XM@163.com",
        actor=ACTOR,
        verified=False,
    )
    assert point.value == "wang.xm@163.com" and point.verified_at is None
    again = await service.do_link_contact_point(
        session=session, customer_id=wang.id, kind="email", value="wang.xm@163.com", actor=ACTOR
    )
    assert again.id == point.id and again.verified_at is not None
    await session.commit()


async def test_unlink(make_customer, session):
    wang = await make_customer()
    await service.do_link_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=OPENID, actor=ACTOR
    )
    assert await service.do_unlink_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=OPENID, actor=ACTOR
    )
    assert not await service.do_unlink_contact_point(
        session=session, customer_id=wang.id, kind="wechat_openid", value=OPENID, actor=ACTOR
    )
    with pytest.raises(ValidationFailed):
        await service.do_unlink_contact_point(
            session=session, customer_id=wang.id, kind="app_user", value=wang.customer_no, actor=ACTOR
        )
    await session.commit()
    assert await service.get_customer_by_contact(session=session, kind="wechat_openid", value=OPENID) is None
    kinds = {p.kind for p in await service.list_contact_points(session=session, customer_id=wang.id)}
    assert kinds == {"app_user", "phone"}
    assert (
        await session.scalar(select(AuditLog).where(AuditLog.action == "customer.unlink_contact")) is not None
    )
    await session.commit()


async def test_lookups_and_display_name(make_customer, session):
    wang = await make_customer(name="王小明", phone="13900001234")
    english = await make_customer(name="Emily Carter", language="en")
    assert service.display_name(wang) == "王*明"
    assert service.display_name(english) == "E**** C*****"
    for value in ("13900001234", "+86 139-0000-1234", "008613900001234"):
        found = await service.get_customer_by_contact(session=session, kind="phone", value=value)
        assert found is not None and found.id == wang.id, value
    assert await service.get_customer_by_contact(session=session, kind="phone", value="12345") is None
    assert await service.get_customer_by_contact(session=session, kind="nope", value="x") is None
    by_no = await service.get_customer_by_no(session=session, customer_no=wang.customer_no.lower())
    assert by_no is not None and by_no.id == wang.id
    with pytest.raises(NotFound):
        await service.access_customer(session=session, customer_id=wang.id, branch_scope="SZ001")
    assert (await service.access_customer(session=session, customer_id=wang.id)).id == wang.id
    await session.commit()


async def test_reveal_checks(make_customer, session):
    wang = await make_customer(email=None)
    for field, reason in [
        ("phone", ""),
        ("phone", "a"),
        ("phone", None),
        ("secret", "核对信息"),
        ("card:1", "核对"),
    ]:
        with pytest.raises(ValidationFailed):
            await service.do_reveal(
                session=session, customer_id=wang.id, field=field, reason=reason, actor=ACTOR
            )
    with pytest.raises(NotFound):
        await service.do_reveal(
            session=session, customer_id=wang.id, field="email", reason="核对邮箱", actor=ACTOR
        )
    with pytest.raises(NotFound):
        await service.do_reveal(
            session=session,
            customer_id=wang.id,
            field="phone",
            reason="核对手机",
            actor=ACTOR,
            branch_scope="CD001",
        )
    value = await service.do_reveal(
        session=session, customer_id=wang.id, field="phone", reason="  核对手机  ", actor=ACTOR
    )
    assert value == wang.phone
    await session.commit()
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "customer.reveal"))
    assert audit is not None and audit.reason == "核对手机" and audit.actor_id == "7"
    await session.commit()


async def test_360_of_a_customer_without_core_data(make_customer, session):
    wang = await make_customer(tier="vip", branch_code="BJ002", region="北京分行", birth_date="1990-03-07")
    view = await service.build_customer_360(session=session, customer_id=wang.id, actor=ACTOR)
    assert (
        view.customer.name == "王*明" and view.customer.is_vip and view.customer.branch_name == "北京海淀支行"
    )
    assert view.customer.age is not None and view.customer.age >= 36
    assert view.accounts == [] and view.cards == [] and view.summary.flags == []
    assert {p.kind for p in view.contact_points} == {"app_user", "phone"}
    core: CoreBanking = service.get_core_banking(session)
    assert await core.list_credit_bills(wang.id) == [] and await core.list_transactions(wang.id, "x") == []
    await session.commit()
    assert await session.scalar(select(AuditLog).where(AuditLog.action == "customer.view_360")) is not None
    assert (await session.scalars(select(ContactPoint))).all()
    await session.commit()
