"""Merging duplicates (both timelines kept) and hot-issue alerts for supervisors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lingxi.core.errors import Conflict
from lingxi.core.events import OutboxEvent, get_dispatcher
from lingxi.notifications.models import Notification
from lingxi.tickets import service
from lingxi.tickets.models import HotIssue
from tests.tickets.conftest import new_ticket

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def test_merge_keeps_both_timelines(api, session, desk, make_customer):
    customer = await make_customer()
    target = await new_ticket(session, customer.id, title="信用卡账单多扣了一笔年费")
    source = await new_ticket(
        session, customer.id, title="年费重复扣了", category="annual_fee", type="inquiry", fields={}
    )
    await service.do_add_comment(
        session=session,
        ticket=source,
        text="客户来电补充：扣款日11月25日",
        visibility="internal",
        actor=desk.actor("handler"),
    )
    await session.commit()
    r = await api.post(
        f"/api/tickets/{source.id}/merge",
        json={"target_id": target.id, "reason": "同一笔年费争议"},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["ticket"]["id"] == target.id
    numbers = {e["ticket_no"] for e in merged["timeline"]}
    assert numbers == {target.ticket_no, source.ticket_no}  # the source's steps are on the target's timeline
    assert "客户来电补充：扣款日11月25日" in [e["note"] for e in merged["timeline"]]
    kinds = [e["kind"] for e in merged["timeline"]]
    assert "merged" in kinds and "merged_from" in kinds
    r = await api.get(f"/api/tickets/{source.id}", headers=desk.headers["handler"])
    assert r.json()["ticket"]["status"] == "closed" and r.json()["merged_into"] == target.ticket_no
    # the customer follows the target; the merged order tells them where to look
    await session.refresh(target)
    await session.refresh(source)
    timeline = await service.get_timeline(session=session, ticket=target, customer_only=True)
    numbers_by_id = await service.ticket_numbers(session=session, ids=[e.ticket_id for e in timeline])
    view = service.customer_view(target, timeline, numbers=numbers_by_id)
    texts = [s.text for s in view.steps]
    assert f"工单 {source.ticket_no} 已并入本工单一并处理" in texts
    assert "内部" not in " ".join(texts) and "扣款日" not in " ".join(texts)  # internal notes stay internal
    old = service.customer_view(
        source, await service.get_timeline(session=session, ticket=source, customer_only=True)
    )
    assert old.steps[-1].text == f"与工单 {target.ticket_no} 合并处理"
    assert not old.actions.reopen and not old.actions.rate
    with pytest.raises(Conflict):
        await service.do_reopen(session=session, ticket=source, actor=desk.actor("handler"), reason="x")


async def test_merge_refuses_other_customers_and_finished_targets(session, desk, make_customer):
    alice, bob = await make_customer(), await make_customer()
    a = await new_ticket(session, alice.id)
    b = await new_ticket(session, bob.id)
    with pytest.raises(Conflict) as caught:
        await service.do_merge(session=session, source=a, target=b, actor=desk.actor("handler"))
    assert caught.value.code == "merge_other_customer"
    c = await new_ticket(
        session, alice.id, title="另一件事", category="annual_fee", type="inquiry", fields={}
    )
    await service.do_cancel(session=session, ticket=c, actor=desk.actor("handler"), reason="撤销")
    with pytest.raises(Conflict) as caught:
        await service.do_merge(session=session, source=a, target=c, actor=desk.actor("handler"))
    assert caught.value.code == "merge_target_finished"


async def similar_orders(session, make_customer, count: int, **overrides) -> list:
    phrases = [
        "手机银行转账一直提示系统繁忙，转不出去",
        "今天手机银行转账失败，提示系统繁忙",
        "转账时手机银行显示系统繁忙请稍后再试",
        "手机银行转账总是系统繁忙",
        "系统繁忙，手机银行转账转不了",
        "手机银行转账报系统繁忙",
    ]
    tickets = []
    for i in range(count):
        customer = await make_customer()
        tickets.append(
            await new_ticket(
                session,
                customer.id,
                type="technical",
                category="transfer_failed",
                title=phrases[i % len(phrases)],
                description="",
                fields={"platform": "android"},
                **overrides,
            )
        )
    return tickets


async def test_many_similar_orders_from_different_customers_raise_a_hot_issue(
    api, session, desk, make_customer
):
    tickets = await similar_orders(session, make_customer, 4)
    await get_dispatcher().drain()
    assert await session.scalar(select(HotIssue)) is None  # four customers: below the threshold of five
    tickets += await similar_orders(session, make_customer, 1)
    await get_dispatcher().drain()
    issue = await session.scalar(select(HotIssue))
    assert (
        issue is not None
        and issue.customer_count == 5
        and sorted(issue.ticket_ids) == sorted(t.id for t in tickets)
    )
    assert issue.category == "transfer_failed" and "转账失败" in issue.summary
    raised = await session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "ticket.hot_issue"))
    assert raised.payload["hot_issue_id"] == issue.id
    told = (
        await session.scalars(
            select(Notification.recipient_id).where(Notification.topic == "ticket.hot_issue")
        )
    ).all()
    assert told == [desk.staff["sup"].id]
    # a sixth order joins the same alert instead of raising another
    await similar_orders(session, make_customer, 1)
    await get_dispatcher().drain()
    issues = (await session.scalars(select(HotIssue))).all()
    assert len(issues) == 1
    await session.refresh(issues[0])
    assert issues[0].customer_count == 6
    r = await api.get("/api/tickets/hot-issues", headers=desk.headers["sup"])
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item["category_label"] == "转账失败" and len(item["ticket_nos"]) == 6 and item["status"] == "open"
    r = await api.post(f"/api/tickets/hot-issues/{item['id']}/acknowledge", headers=desk.headers["sup"])
    assert r.json()["items"][0]["status"] == "acknowledged"
    assert (await api.get("/api/tickets/hot-issues", headers=desk.headers["handler"])).status_code == 403


async def test_one_customer_repeating_themselves_is_no_hot_issue(session, desk, make_customer):
    customer = await make_customer()
    for _ in range(6):
        await new_ticket(
            session,
            customer.id,
            type="technical",
            category="transfer_failed",
            title="手机银行转账系统繁忙",
            fields={"platform": "ios"},
        )
    await get_dispatcher().drain()
    assert await session.scalar(select(HotIssue)) is None


async def test_orders_outside_the_window_do_not_count(session, desk, make_customer, frozen_clock):
    await similar_orders(session, make_customer, 3)
    await get_dispatcher().drain()
    frozen_clock.advance(timedelta(minutes=61))
    await similar_orders(session, make_customer, 3)
    await get_dispatcher().drain()
    assert await session.scalar(select(HotIssue)) is None
