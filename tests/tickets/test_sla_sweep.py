"""The SLA sweep: warnings at a share of the time, breaches, escalation levels 1–4 and who hears of
them, the pause while waiting for the customer, met/breached recorded, auto-close, the one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from lingxi.audit.models import AuditLog
from lingxi.core.jobs import periodic_jobs, run_periodic
from lingxi.notifications.models import Notification
from lingxi.tickets import clock, service
from lingxi.tickets.models import Ticket
from tests.tickets.conftest import local, new_ticket

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def staff_notices(session, topic: str) -> list[tuple[int, str]]:
    rows = (
        await session.scalars(
            select(Notification)
            .where(Notification.recipient_type == "staff", Notification.topic == topic)
            .order_by(Notification.id)
        )
    ).all()
    return [(n.recipient_id, n.content) for n in rows]


async def sweep(session, at) -> service.SweepResult:
    with clock.frozen(at):
        result = await service.do_sla_sweep(session=session)
    await session.commit()
    return result


async def assigned_request(session, desk, customer_id: int) -> Ticket:
    """A request created Monday 15:00: first response due 16:00, warning Tuesday 09:00, due 10:00."""
    ticket = await new_ticket(session, customer_id)
    await service.do_assign(
        session=session, ticket=ticket, assignee=desk.staff["handler"], actor=desk.actor("lead")
    )
    await session.commit()
    return ticket


async def test_warning_breach_and_four_escalation_levels(session, desk, make_customer):
    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    assert (ticket.warn_at, ticket.due_at) == (local(2026, 12, 1, 9, 0), local(2026, 12, 1, 10, 0))
    handler, lead, head = (desk.staff[n].id for n in ("handler", "lead", "head"))

    assert (await sweep(session, local(2026, 11, 30, 15, 59))).processed == 0
    result = await sweep(session, local(2026, 11, 30, 16, 0))
    assert (result.processed, result.breaches) == (1, 1)  # no first response within the hour
    assert ticket.first_response_met is False
    assert [r for r, _ in await staff_notices(session, "ticket.sla_first_response")] == [handler]

    assert (await sweep(session, local(2026, 11, 30, 20, 0))).processed == 0  # nothing due overnight
    result = await sweep(session, local(2026, 12, 1, 9, 0))
    assert result.warnings == 1 and ticket.warned_at == local(2026, 12, 1, 9, 0)
    assert [r for r, _ in await staff_notices(session, "ticket.sla_warning")] == [handler]
    assert ticket.sla_next_check_at == ticket.due_at

    result = await sweep(session, local(2026, 12, 1, 10, 0))
    assert (result.breaches, result.escalations) == (1, 1)
    assert ticket.breached_at == local(2026, 12, 1, 10, 0) and ticket.resolution_met is False
    assert ticket.escalation_level == 1 and ticket.next_escalation_at == local(2026, 12, 1, 12, 0)

    await sweep(session, local(2026, 12, 1, 12, 0))
    assert ticket.escalation_level == 2 and ticket.next_escalation_at == local(2026, 12, 2, 9, 0)
    await sweep(session, local(2026, 12, 2, 9, 0))
    assert ticket.escalation_level == 3 and ticket.next_escalation_at == local(2026, 12, 2, 17, 0)
    await sweep(session, local(2026, 12, 2, 17, 0))
    assert ticket.escalation_level == 4 and ticket.next_escalation_at is None
    assert ticket.sla_next_check_at is None  # nothing more to do for it
    assert [r for r, _ in await staff_notices(session, "ticket.escalated")] == [
        handler,
        lead,
        head,
        desk.staff["sup"].id,
    ]
    levels = [
        e.data["level"]
        for e in await service.get_timeline(session=session, ticket=ticket)
        if e.kind == "escalated"
    ]
    assert levels == [1, 2, 3, 4]
    audited = (
        await session.scalars(select(AuditLog.action).where(AuditLog.subject_id == str(ticket.id)))
    ).all()
    assert {
        "ticket.sla_warning",
        "ticket.sla_breach",
        "ticket.escalate",
        "ticket.sla_first_response_breach",
    } <= set(audited)
    assert (await sweep(session, local(2026, 12, 9, 9, 0))).processed == 0


async def test_a_late_sweep_catches_up_every_level_once(session, desk, make_customer):
    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    result = await sweep(session, local(2026, 12, 10, 9, 0))
    assert (result.warnings, result.escalations) == (0, 4)  # the warning is moot once breached
    assert ticket.escalation_level == 4
    again = await sweep(session, local(2026, 12, 10, 9, 0))
    assert again.processed == 0


async def test_unassigned_orders_warn_the_team_and_skip_missing_levels(session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(
        session, customer.id, title="年费减免", category="annual_fee", type="inquiry", fields={}
    )
    assert ticket.team_id == desk.teams["HO-CARD"]
    await sweep(session, ticket.warn_at)
    assert sorted(r for r, _ in await staff_notices(session, "ticket.sla_warning")) == sorted(
        [desk.staff["handler"].id, desk.staff["lead"].id]
    )


async def test_the_clock_pauses_while_waiting_for_the_customer(session, desk, make_customer, frozen_clock):
    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    frozen_clock.advance(timedelta(minutes=30))  # Monday 15:30
    await service.do_start(session=session, ticket=ticket, actor=desk.actor("handler"))
    frozen_clock.advance(timedelta(minutes=30))  # Monday 16:00
    await service.do_request_info(
        session=session, ticket=ticket, note="请上传近三个月工资流水", actor=desk.actor("handler")
    )
    await session.commit()
    assert ticket.first_response_met is True  # starting work is the first customer-visible step
    assert ticket.sla_paused_at == local(2026, 11, 30, 16, 0) and ticket.sla_next_check_at is None
    assert (await sweep(session, local(2026, 12, 1, 12, 0))).processed == 0  # due passed on paper: paused
    with clock.frozen(local(2026, 12, 2, 14, 0)):  # the customer answers Wednesday 14:00
        await service.do_customer_add_info(
            session=session, ticket=ticket, text="已上传", actor=service.customer_actor(customer)
        )
    await session.commit()
    assert ticket.status == "in_progress" and ticket.sla_paused_at is None
    # 3 working hours were left at the pause (16-17, 08-10), 2 until the warning (16-17, 08-09)
    assert ticket.due_at == local(2026, 12, 2, 17, 0)
    assert ticket.warn_at == local(2026, 12, 2, 16, 0)
    assert ticket.sla_next_check_at == local(2026, 12, 2, 16, 0)
    with clock.frozen(local(2026, 12, 2, 16, 30)):
        await service.do_resolve(
            session=session, ticket=ticket, resolution="流水已寄出", actor=desk.actor("handler")
        )
    await session.commit()
    assert ticket.resolution_met is True and ticket.breached_at is None


async def test_resolved_while_paused_counts_the_pause_moment(session, desk, make_customer, frozen_clock):
    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    await service.do_start(session=session, ticket=ticket, actor=desk.actor("handler"))
    await service.do_request_info(
        session=session, ticket=ticket, note="请确认邮寄地址", actor=desk.actor("handler")
    )
    with clock.frozen(local(2026, 12, 4, 10, 0)):  # days later, still waiting: not the handler's delay
        await service.do_resolve(
            session=session, ticket=ticket, resolution="已按预留地址寄出", actor=desk.actor("handler")
        )
    assert ticket.resolution_met is True


async def test_auto_close_after_the_confirmation_period(session, desk, make_customer, frozen_clock):
    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    await service.do_start(session=session, ticket=ticket, actor=desk.actor("handler"))
    await service.do_resolve(
        session=session, ticket=ticket, resolution="已补寄账单", actor=desk.actor("handler")
    )
    await session.commit()
    assert (
        ticket.auto_close_at == local(2026, 12, 7, 15, 0) and ticket.sla_next_check_at == ticket.auto_close_at
    )
    assert (await sweep(session, local(2026, 12, 7, 14, 59))).processed == 0
    result = await sweep(session, local(2026, 12, 7, 15, 0))
    assert result.auto_closed == 1 and ticket.status == "closed"
    kinds = [e.kind for e in await service.get_timeline(session=session, ticket=ticket, customer_only=True)]
    assert kinds[-1] == "auto_closed"
    pushed = (
        await session.scalars(select(Notification.topic).where(Notification.recipient_type == "customer"))
    ).all()
    assert "ticket.auto_closed" in pushed


async def test_the_sweep_query_uses_the_index(session):
    compiled = service.due_query(local(2026, 12, 1), 500).compile(
        dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}
    )
    if session.bind.dialect.name == "sqlite":
        plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
        assert "ix_tickets_sla_next_check" in " ".join(str(row[-1]) for row in plan)
    else:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (await session.execute(text(f"EXPLAIN {compiled}"))).scalars().all()
        assert "ix_tickets_sla_next_check" in " ".join(plan)


async def test_the_periodic_job_runs_the_sweep(session, desk, make_customer):
    import lingxi.worker  # noqa: F401  (registers every job, as `lingxi worker` and the app do)

    customer = await make_customer()
    ticket = await assigned_request(session, desk, customer.id)
    assert "tickets.sla_sweep" in periodic_jobs() and "notifications.flush" in periodic_jobs()
    with clock.frozen(local(2026, 12, 1, 10, 0)):
        result = await run_periodic("tickets.sla_sweep")
    assert result.breaches >= 1
    await session.refresh(ticket)
    assert ticket.breached_at == local(2026, 12, 1, 10, 0)


async def test_orders_without_a_policy_have_no_clock(session, desk, make_customer):
    from sqlalchemy import update

    from lingxi.tickets.models import SlaPolicy

    await session.execute(update(SlaPolicy).values(active=False))
    await session.commit()
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    assert ticket.due_at is None and ticket.sla_next_check_at is None and ticket.sla_policy_id is None


async def test_policy_specificity_tier_beats_type(session, desk, make_customer):
    vip = await make_customer(tier="vip")
    fields = {"complaint_about": "fees", "incident_date": "2026-11-29", "desired_outcome": "退还手续费"}
    ticket = await new_ticket(
        session, vip.id, type="complaint", category="complaint", title="乱收费", fields=fields
    )
    from lingxi.tickets.models import SlaPolicy

    policy = await session.get(SlaPolicy, ticket.sla_policy_id)
    assert policy.name == "VIP 投诉：2 个工作日"
    assert ticket.due_at == local(2026, 12, 2, 15, 0)  # 18 working hours on 08:00-17:00
