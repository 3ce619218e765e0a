"""The demo bank's work orders: teams and rules, orders in every state with real timelines, the
automated card replacement, a hot issue, escalations — and no customer told about demo history."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from lingxi.core.events import OutboxEvent
from lingxi.core.outbound import OutboundRecord
from lingxi.customers.service import get_core_banking
from lingxi.notifications.models import Notification
from lingxi.tickets import service
from lingxi.tickets.models import DispatchRule, HotIssue, Ticket, TicketEvent, TicketTeam
from tests.demo.fixtures import PG_URL


async def test_demo_work_orders(demo_bank, demo_session):
    s = demo_session
    if demo_bank.counts:
        assert demo_bank.counts["tickets"] >= 15 and demo_bank.counts["ticket_teams"] == 12
    assert await s.scalar(select(func.count()).select_from(DispatchRule)) == 16
    tickets = (await s.scalars(select(Ticket).order_by(Ticket.id))).all()
    statuses = Counter(t.status for t in tickets)
    for status in ("new", "assigned", "in_progress", "pending_customer", "resolved", "closed", "reopened"):
        assert statuses[status] >= 1, status
    teams = {t.id: t.code for t in (await s.scalars(select(TicketTeam))).all()}
    by_title = {t.title: t for t in tickets}
    fraud = by_title["信用卡凌晨出现两笔境外网购消费，非本人操作"]
    assert (
        teams[fraud.team_id] == "HO-FRAUD" and fraud.priority == "urgent" and fraud.sla_calendar == "CN-24x7"
    )
    branch = by_title["信用卡逾期还清后卡片仍被止付"]
    assert teams[branch.team_id] == "BR-BJ001" and branch.branch_code == "BJ001"
    # the card replacement was completed by the automation through the core-banking port
    card_order = by_title["借记卡芯片损坏，申请换卡"]
    assert card_order.status == "resolved" and card_order.source == "customer"
    kinds = [e.kind for e in await service.get_timeline(session=s, ticket=card_order)]
    assert "automation" in kinds
    requests = await get_core_banking(s).list_service_requests(card_order.customer_id)
    assert [r.kind for r in requests] == ["card_replacement"]
    assert requests[0].reference in card_order.resolution
    # the old, overdue technical order was escalated by the sweep the loader ran
    overdue = by_title["手机银行更新后登录提示 E1023"]
    assert overdue.breached_at is not None and overdue.escalation_level >= 1
    merged = [t for t in tickets if t.merged_into_id is not None]
    assert len(merged) == 1 and merged[0].status == "closed"
    issue = await s.scalar(select(HotIssue))
    assert issue is not None and issue.category == "transfer_failed" and issue.customer_count == 5
    # history: customers were not notified, nothing is waiting to be delivered for it
    customer_notices = (
        await s.scalars(select(Notification).where(Notification.recipient_type == "customer"))
    ).all()
    assert customer_notices and all(n.status == "skipped" for n in customer_notices)
    if not PG_URL:
        assert await s.scalar(select(func.count()).select_from(OutboundRecord)) == 0
    pending = await s.scalar(
        select(func.count()).where(OutboxEvent.topic == "ticket.created", OutboxEvent.delivered_at.is_(None))
    )
    assert pending == 0
    assert (
        await s.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.visibility == "customer")
        )
        > 30
    )
