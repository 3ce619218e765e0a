"""Automation rules: a card replacement completed through the CoreBanking port, audited; and every
case in which the rule leaves the order to a person."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from lingxi.audit.models import AuditLog
from lingxi.core.events import get_dispatcher
from lingxi.customers.service import get_core_banking
from lingxi.demo.models import DemoCard
from lingxi.notifications.models import Notification
from lingxi.tickets import service
from lingxi.tickets.models import AutomationRule
from tests.tickets.conftest import new_ticket

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def with_card(session, make_customer, status: str = "active", tail: str = "4321"):
    customer = await make_customer()
    session.add(
        DemoCard(
            customer_id=customer.id,
            card_no=f"62220200000{customer.id:04d}{tail}",
            kind="debit",
            product="灵犀借记卡",
            status=status,
            expires="08/30",
            issued_on=date(2020, 8, 1),
        )
    )
    await session.commit()
    return customer


def replacement(**fields):
    return {
        "type": "request",
        "category": "card_replacement",
        "title": "借记卡消磁，申请换卡",
        "fields": {"request_kind": "card_replacement", "card_tail4": "4321", "reason": "damaged", **fields},
    }


async def test_a_card_replacement_is_ordered_and_resolved_without_a_person(session, desk, make_customer):
    customer = await with_card(session, make_customer)
    ticket = await new_ticket(session, customer.id, **replacement(delivery="registered_address"))
    await get_dispatcher().drain()
    await session.refresh(ticket)
    assert ticket.status == "resolved" and ticket.resolution_met is True and ticket.first_response_met is True
    [request] = await get_core_banking(session).list_service_requests(customer.id)
    assert request.kind == "card_replacement" and request.status == "accepted"
    assert request.reference in ticket.resolution
    timeline = await service.get_timeline(session=session, ticket=ticket)
    step = next(e for e in timeline if e.kind == "automation")
    assert (
        step.visibility == "customer"
        and step.actor_id == "automation"
        and step.data["reference"] == request.reference
    )
    view = service.customer_view(ticket, timeline)
    assert view.status_label == "已处理，待您确认" and "已为尾号4321的卡片提交换卡申请" in view.steps[-1].text
    english = service.customer_view(ticket, timeline, language="en")
    assert english.steps[-1].text.startswith("A replacement for the card ending 4321 was ordered")
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "ticket.automation"))
    assert audit.after["done"] is True and audit.after["rule"] == "card-replacement"
    pushed = await session.scalar(select(Notification).where(Notification.topic == "ticket.automation"))
    assert pushed is not None and pushed.recipient_id == customer.id
    # running again changes nothing: the order is no longer new
    assert await service_rerun(session, ticket) == []


async def service_rerun(session, ticket):
    from lingxi.tickets.automation import do_run_automation

    return await do_run_automation(session=session, ticket=ticket)


@pytest.mark.parametrize(
    ("card_status", "fields", "why"),
    [
        ("active", {"delivery": "branch_pickup"}, "网点自取"),
        ("active", {"card_tail4": "9999"}, "未找到唯一匹配的卡片"),
        ("lost", {}, "已挂失或止付"),
        ("active", {"card_tail4": None}, "缺少卡号后四位"),
    ],
)
async def test_the_rule_hands_over_what_it_cannot_do(session, desk, make_customer, card_status, fields, why):
    customer = await with_card(session, make_customer, status=card_status)
    values = replacement(**fields)
    values["fields"] = {k: v for k, v in values["fields"].items() if v is not None}
    ticket = await new_ticket(session, customer.id, **values)
    await get_dispatcher().drain()
    await session.refresh(ticket)
    assert ticket.status == "new"
    skipped = [
        e
        for e in await service.get_timeline(session=session, ticket=ticket)
        if e.kind == "automation_skipped"
    ]
    assert len(skipped) == 1 and why in skipped[0].note and skipped[0].visibility == "internal"
    assert await get_core_banking(session).list_service_requests(customer.id) == []
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "ticket.automation"))
    assert audit.after["done"] is False


async def test_inactive_or_unmatched_rules_do_nothing(session, desk, make_customer):
    customer = await with_card(session, make_customer)
    other = await new_ticket(
        session, customer.id, **{**replacement(), "fields": {"request_kind": "statement"}}
    )
    await session.execute(update(AutomationRule).values(active=False))
    await session.commit()
    ticket = await new_ticket(
        session, customer.id, **replacement(delivery="registered_address", reason="expiring")
    )
    await get_dispatcher().drain()
    for t in (other, ticket):
        await session.refresh(t)
        assert t.status == "new"
    assert await session.scalar(select(AuditLog).where(AuditLog.action == "ticket.automation")) is None
