"""Creation, every transition of the state machine (allowed and refused), the timeline and the audit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, NotFound, ValidationFailed
from lingxi.tickets import service
from lingxi.tickets.constants import STATUSES, TRANSITIONS
from lingxi.tickets.models import Ticket, TicketEvent
from tests.tickets.conftest import STAFF_ACTOR, local, new_ticket

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def events(session, ticket) -> list[TicketEvent]:
    return await service.get_timeline(session=session, ticket=ticket)


async def test_create_validates_dispatches_and_starts_the_clock(session, desk, make_customer):
    customer = await make_customer(region="北京分行", branch_code="BJ001")
    ticket = await new_ticket(session, customer.id)
    assert re.fullmatch(r"GD20261130\d{6}", ticket.ticket_no)
    assert ticket.status == "new" and ticket.product == "credit_card" and ticket.priority == "normal"
    assert ticket.team_id == desk.teams["HO-CARD"] and ticket.branch_code is None
    # "业务办理：4 个工作小时" on the head-office calendar, created Monday 15:00
    assert ticket.due_at == local(2026, 12, 1, 10, 0)
    assert ticket.first_response_due_at == local(2026, 11, 30, 16, 0)
    assert ticket.sla_next_check_at == ticket.first_response_due_at
    kinds = [(e.kind, e.visibility) for e in await events(session, ticket)]
    assert kinds == [("created", "customer"), ("dispatched", "internal")]
    audit = await session.scalar(select(AuditLog).where(AuditLog.action == "ticket.create"))
    assert audit.subject_id == str(ticket.id) and audit.after["status"] == "new"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"type": "question"}, "bad_type"),
        ({"category": "weather"}, "bad_category"),
        ({"title": "x"}, "bad_title"),
        ({"description": "长" * 4001}, "description_too_long"),
        ({"fields": {}}, "bad_ticket_fields"),  # request_kind is required
        ({"fields": {"request_kind": "teleport"}}, "bad_ticket_fields"),
        ({"fields": {"request_kind": "statement", "shoe_size": 42}}, "bad_ticket_fields"),
        ({"fields": {"request_kind": "statement", "card_tail4": "12a4"}}, "bad_ticket_fields"),
        ({"source": "fax"}, "bad_source"),
        ({"channel": "pigeon"}, "bad_channel"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_code(session, desk, make_customer, overrides, code):
    customer = await make_customer()
    with pytest.raises(ValidationFailed) as caught:
        await new_ticket(session, customer.id, **overrides)
    assert caught.value.code == code


async def test_field_templates_clean_values(session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(
        session,
        customer.id,
        type="fraud",
        category="fraud_report",
        title="信用卡被盗刷两笔",
        fields={
            "incident_at": "2026-11-30T02:13:00+08:00",
            "amount": 3999.5,
            "loss_channel": "online_payment",
            "card_tail4": "1234",
            "card_frozen": True,
        },
    )
    assert ticket.fields["amount"] == "3999.50"
    assert ticket.priority == "urgent" and ticket.team_id == desk.teams["HO-FRAUD"]
    assert ticket.sla_calendar == "CN-24x7"  # the fraud policy names its own calendar
    assert ticket.due_at == local(2026, 12, 1, 15, 0)  # 24 hours round the clock
    with pytest.raises(ValidationFailed) as caught:
        await new_ticket(
            session,
            customer.id,
            type="fraud",
            category="fraud_report",
            fields={"incident_at": "2026-11-30 02:13", "amount": "-5", "loss_channel": "online_payment"},
        )
    problems = {p["field"] for p in caught.value.details}
    assert problems == {"fields.incident_at", "fields.amount"}


async def test_vip_normal_orders_are_high_priority(session, desk, make_customer):
    customer = await make_customer(tier="vip")
    ticket = await new_ticket(session, customer.id)
    assert ticket.priority == "high"


async def test_conversation_must_belong_to_the_customer(session, desk, make_customer):
    from lingxi.conversations import service as conversations

    owner, other = await make_customer(), await make_customer()
    conversation, _ = await conversations.get_or_open_conversation(
        session=session,
        channel="webchat",
        customer_id=owner.id,
        visitor_id=None,
        language="zh-CN",
        verification_level="L1",
    )
    await session.commit()
    with pytest.raises(ValidationFailed) as caught:
        await new_ticket(session, other.id, conversation_id=conversation.id)
    assert caught.value.code == "conversation_mismatch"
    ticket = await new_ticket(
        session, owner.id, conversation_id=conversation.id, channel=None, source="conversation"
    )
    assert ticket.channel == "webchat"


# --- the state machine, exhaustively -----------------------------------------------------------------


async def put_in_status(session, desk, customer_id: int, status: str) -> Ticket:
    """An order driven through real transitions into `status` (committed)."""
    ticket = await _drive(session, desk, customer_id, status)
    await session.commit()
    return ticket


async def _drive(session, desk, customer_id: int, status: str) -> Ticket:
    actor = desk.actor("handler")
    ticket = await new_ticket(session, customer_id)
    if status == "new":
        return ticket
    await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["handler"], actor=actor)
    if status == "assigned":
        return ticket
    if status == "cancelled":
        await service.do_cancel(session=session, ticket=ticket, actor=actor, reason="客户来电撤销")
        return ticket
    await service.do_start(session=session, ticket=ticket, actor=actor)
    if status == "in_progress":
        return ticket
    if status == "pending_customer":
        await service.do_request_info(
            session=session, ticket=ticket, note="请上传身份证正反面照片", actor=actor
        )
        return ticket
    await service.do_resolve(session=session, ticket=ticket, resolution="账单已通过邮件发送", actor=actor)
    if status == "resolved":
        return ticket
    if status == "closed":
        await service.do_close(session=session, ticket=ticket, actor=actor)
        return ticket
    assert status == "reopened"
    await service.do_reopen(session=session, ticket=ticket, actor=actor, reason="客户未收到邮件")
    return ticket


async def perform(session, desk, ticket: Ticket, action: str) -> None:
    actor = desk.actor("handler")
    if action == "assign":
        await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["lead"], actor=actor)
    elif action == "start":
        await service.do_start(session=session, ticket=ticket, actor=actor)
    elif action == "request_info":
        await service.do_request_info(session=session, ticket=ticket, note="请补充交易截图", actor=actor)
    elif action == "resume":
        await service.do_resume(session=session, ticket=ticket, actor=actor)
    elif action == "resolve":
        await service.do_resolve(session=session, ticket=ticket, resolution="已处理", actor=actor)
    elif action == "close":
        await service.do_close(session=session, ticket=ticket, actor=actor)
    elif action == "reopen":
        await service.do_reopen(session=session, ticket=ticket, actor=actor, reason="仍未解决")
    elif action == "cancel":
        await service.do_cancel(session=session, ticket=ticket, actor=actor, reason="重复提交")
    elif action == "transfer":
        team = await session.get(service.TicketTeam, desk.teams["HO-OPS"])
        await service.do_transfer(
            session=session, ticket=ticket, team=team, reason="非本部门业务", actor=actor
        )
    elif action == "merge":
        target = await new_ticket(session, ticket.customer_id, title="另一张工单", category="annual_fee")
        await service.do_merge(session=session, source=ticket, target=target, actor=actor)
    elif action == "auto_resolve":
        await service.do_auto_resolve(
            session=session,
            ticket=ticket,
            note_zh="已自动办理",
            note_en="done",
            actor=Actor.system("automation"),
            data={},
        )
    else:  # pragma: no cover
        raise AssertionError(action)


CASES = [(status, action) for status in STATUSES for action in TRANSITIONS]


@pytest.mark.parametrize(("status", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
async def test_every_transition(session, desk, make_customer, status, action):
    customer = await make_customer()
    ticket = await put_in_status(session, desk, customer.id, status)
    assert ticket.status == status
    froms, to = TRANSITIONS[action]
    before = len(await events(session, ticket))
    if status in froms:
        await perform(session, desk, ticket, action)
        await session.commit()
        assert ticket.status == to
        timeline = await events(session, ticket)
        changed = [e for e in timeline[before:] if e.ticket_id == ticket.id and e.to_status == to]
        assert changed, f"no timeline step for {action}"
        assert changed[-1].from_status == status
        audited = await session.scalar(
            select(AuditLog).where(
                AuditLog.action == f"ticket.{action}", AuditLog.subject_id == str(ticket.id)
            )
        )
        assert audited is not None and audited.after["status"] == to
    else:
        ticket_id = ticket.id
        with pytest.raises(Conflict) as caught:
            await perform(session, desk, ticket, action)
        assert caught.value.code == "invalid_transition"
        assert caught.value.details["status"] == status and action in caught.value.message.replace(" ", "_")
        await session.rollback()
        assert await session.scalar(select(Ticket.status).where(Ticket.id == ticket_id)) == status


async def test_start_needs_an_assignee_and_resolve_needs_subtasks_done(session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    with pytest.raises(Conflict):
        await service.do_start(session=session, ticket=ticket, actor=STAFF_ACTOR)
    actor = desk.actor("handler")
    await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["handler"], actor=actor)
    await service.do_start(session=session, ticket=ticket, actor=actor)
    fraud_team = await session.get(service.TicketTeam, desk.teams["HO-FRAUD"])
    child = await service.do_create_subtask(
        session=session,
        parent=ticket,
        team=fraud_team,
        title="核实交易是否为本人操作",
        description="",
        actor=actor,
    )
    assert ticket.open_subtasks == 1 and child.parent_id == ticket.id and child.team_id == fraud_team.id
    with pytest.raises(Conflict) as caught:
        await service.do_resolve(session=session, ticket=ticket, resolution="已处理", actor=actor)
    assert caught.value.code == "subtasks_open"
    await service.do_assign(session=session, ticket=child, assignee=desk.staff["fraud"], actor=actor)
    await service.do_start(session=session, ticket=child, actor=desk.actor("fraud"))
    await service.do_resolve(
        session=session, ticket=child, resolution="确认为本人交易", actor=desk.actor("fraud")
    )
    assert child.status == "closed"  # a sub-task needs no customer confirmation
    assert ticket.open_subtasks == 0
    await service.do_resolve(session=session, ticket=ticket, resolution="经核实为本人交易", actor=actor)
    assert ticket.status == "resolved"
    kinds = [e.kind for e in await events(session, ticket)]
    assert "subtask" in kinds and "subtask_done" in kinds
    child_events = await events(session, child)
    assert all(e.visibility == "internal" for e in child_events)


async def test_assignee_must_be_able_to_handle_and_see_the_order(session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    with pytest.raises(ValidationFailed) as caught:
        await service.do_assign(
            session=session, ticket=ticket, assignee=desk.staff["agent"], actor=STAFF_ACTOR
        )
    assert caught.value.code == "assignee_not_allowed"
    with pytest.raises(ValidationFailed) as caught:
        await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["bj"], actor=STAFF_ACTOR)
    assert caught.value.code == "assignee_out_of_scope"


async def test_first_response_is_the_first_customer_visible_staff_step(
    session, desk, make_customer, frozen_clock
):
    from datetime import timedelta

    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    actor = desk.actor("handler")
    await service.do_add_comment(
        session=session, ticket=ticket, text="内部备注：等核心系统", visibility="internal", actor=actor
    )
    assert ticket.first_responded_at is None
    frozen_clock.advance(timedelta(minutes=30))
    await service.do_add_comment(
        session=session, ticket=ticket, text="您好，已收到您的申请", visibility="customer", actor=actor
    )
    assert ticket.first_responded_at == local(2026, 11, 30, 15, 30) and ticket.first_response_met is True


async def test_reopen_window_and_merged_orders(session, desk, make_customer, frozen_clock):
    from datetime import timedelta

    customer = await make_customer()
    ticket = await put_in_status(session, desk, customer.id, "closed")
    frozen_clock.advance(timedelta(days=8))
    with pytest.raises(Conflict) as caught:
        await service.do_reopen(session=session, ticket=ticket, actor=STAFF_ACTOR, reason="又出问题")
    assert caught.value.code == "reopen_window_passed"


async def test_cancel_cascades_to_open_subtasks(session, desk, make_customer):
    customer = await make_customer()
    ticket = await put_in_status(session, desk, customer.id, "in_progress")
    team = await session.get(service.TicketTeam, desk.teams["HO-FRAUD"])
    child = await service.do_create_subtask(
        session=session, parent=ticket, team=team, title="协查", description="", actor=desk.actor("handler")
    )
    await service.do_cancel(session=session, ticket=ticket, actor=desk.actor("handler"), reason="客户撤诉")
    assert child.status == "cancelled" and ticket.status == "cancelled" and ticket.open_subtasks == 0


async def test_access_outside_the_branch_is_404(session, desk, make_customer):
    from lingxi.tickets.service import StaffScope

    customer = await make_customer(region="北京分行", branch_code="BJ001")
    ticket = await new_ticket(session, customer.id, category="account_frozen", type="inquiry", fields={})
    assert ticket.team_id == desk.teams["BR-BJ001"] and ticket.branch_code == "BJ001"
    other = await new_ticket(session, customer.id, title="账单问题")
    bj = StaffScope.of(desk.staff["bj"])
    assert (await service.access_ticket(session=session, ticket_id=ticket.id, scope=bj)).id == ticket.id
    with pytest.raises(NotFound):
        await service.access_ticket(session=session, ticket_id=other.id, scope=bj)
    head_office = StaffScope.of(desk.staff["handler"])
    assert (
        await service.access_ticket(session=session, ticket_id=ticket.id, scope=head_office)
    ).id == ticket.id


async def test_two_people_acting_at_once_the_second_gets_409(db, session, desk, make_customer):
    from sqlalchemy.orm.exc import StaleDataError

    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    async with db.sessionmaker() as first, db.sessionmaker() as second:
        mine = await first.get(Ticket, ticket.id)
        theirs = await second.get(Ticket, ticket.id)
        await service.do_assign(
            session=first, ticket=mine, assignee=desk.staff["handler"], actor=desk.actor("handler")
        )
        await first.commit()
        with pytest.raises(StaleDataError):
            await service.do_cancel(session=second, ticket=theirs, actor=desk.actor("lead"), reason="重复")
        await second.rollback()
    await session.refresh(ticket)
    assert ticket.status == "assigned"  # the cancel read a stale order and was refused
    cancelled = await session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "cancelled")
    )
    assert cancelled is None
