"""Dispatch rules, branch scope in the console, transfers with a reason, sub-tasks, bulk actions."""

from __future__ import annotations

from lingxi.tickets import dispatch, service
from lingxi.tickets.models import DispatchRule, TicketTeam
from tests.tickets.conftest import new_ticket


async def test_rules_by_type_product_category_and_branch(session, desk, make_customer):
    beijing = await make_customer(region="北京分行", branch_code="BJ002")  # a sub-branch: its region's team
    shenzhen = await make_customer(region="深圳分行", branch_code="SZ001")
    fraud = await new_ticket(
        session,
        beijing.id,
        type="fraud",
        category="fraud_report",
        fields={"incident_at": "2026-11-29T10:00:00+08:00", "amount": "100", "loss_channel": "phone_scam"},
    )
    card = await new_ticket(session, beijing.id, type="inquiry", category="annual_fee", fields={})
    frozen_bj = await new_ticket(session, beijing.id, type="inquiry", category="account_frozen", fields={})
    frozen_sz = await new_ticket(session, shenzhen.id, type="inquiry", category="account_frozen", fields={})
    assert fraud.team_id == desk.teams["HO-FRAUD"]
    assert card.team_id == desk.teams["HO-CARD"]
    assert (frozen_bj.team_id, frozen_bj.branch_code) == (desk.teams["BR-BJ001"], "BJ001")
    # Shenzhen has no branch team: the branch rule is skipped and the catch-all takes it
    assert (frozen_sz.team_id, frozen_sz.branch_code) == (desk.teams["HO-OPS"], None)
    timeline = await service.get_timeline(session=session, ticket=frozen_bj)
    assert "账户限制到网点" in next(e for e in timeline if e.kind == "dispatched").note


async def test_no_matching_rule_leaves_the_order_for_manual_dispatch(session, desk, make_customer):
    from sqlalchemy import update

    await session.execute(update(DispatchRule).values(active=False))
    await session.commit()
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    assert ticket.team_id is None
    assert "dispatch_failed" in [e.kind for e in await service.get_timeline(session=session, ticket=ticket)]


async def test_region_rule_and_product_rule_match(session, desk, make_customer):
    rule = DispatchRule(
        position=1, name="深圳理财", region="深圳分行", product="wealth", team_id=desk.teams["HO-CARD"]
    )
    session.add(rule)
    await session.commit()
    order = dispatch.DispatchInput(
        type="inquiry",
        category="wealth_redemption",
        product="wealth",
        region="深圳分行",
        customer_branch="SZ001",
    )
    team, matched = await dispatch.choose_team(session=session, order=order)
    assert (team.id, matched.id) == (desk.teams["HO-CARD"], rule.id)
    elsewhere = dispatch.DispatchInput(
        type="inquiry",
        category="wealth_redemption",
        product="wealth",
        region="北京分行",
        customer_branch="BJ001",
    )
    team, matched = await dispatch.choose_team(session=session, order=elsewhere)
    assert team.id == desk.teams["HO-OPS"] and matched.name == "兜底"


async def test_branch_staff_see_only_their_branch_in_the_console(api, session, desk, make_customer):
    beijing = await make_customer(region="北京分行", branch_code="BJ001")
    mine = await new_ticket(session, beijing.id, type="inquiry", category="account_frozen", fields={})
    head_office = await new_ticket(
        session, beijing.id, title="信用卡额度", category="credit_limit_adjustment"
    )
    r = await api.get("/api/tickets", params={"view": "all"}, headers=desk.headers["bj"])
    assert [t["id"] for t in r.json()["items"]] == [mine.id]
    r = await api.get(f"/api/tickets/{head_office.id}", headers=desk.headers["bj"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "ticket_not_found"
    r = await api.post(f"/api/tickets/{head_office.id}/claim", headers=desk.headers["bj"])
    assert r.status_code == 404
    r = await api.get("/api/tickets", params={"view": "all"}, headers=desk.headers["handler"])
    assert {t["id"] for t in r.json()["items"]} == {mine.id, head_office.id}
    r = await api.get("/api/tickets/queues", headers=desk.headers["bj"])
    assert [(q["team_id"], q["status"], q["count"]) for q in r.json()["items"]] == [
        (desk.teams["BR-BJ001"], "new", 1)
    ]
    # the branch works its order end to end
    r = await api.post(f"/api/tickets/{mine.id}/claim", headers=desk.headers["bj"])
    assert r.status_code == 200 and r.json()["ticket"]["assignee"]["id"] == desk.staff["bj"].id
    r = await api.post(f"/api/tickets/{mine.id}/start", headers=desk.headers["bj"])
    assert r.json()["ticket"]["status"] == "in_progress"


async def test_list_filters(api, session, desk, make_customer):
    a, b = await make_customer(), await make_customer()
    t1 = await new_ticket(session, a.id, title="账单金额有误")
    t2 = await new_ticket(session, b.id, title="年费减免", category="annual_fee", type="inquiry", fields={})
    await service.do_assign(
        session=session, ticket=t2, assignee=desk.staff["handler"], actor=desk.actor("lead")
    )
    await session.commit()
    get = lambda **p: api.get("/api/tickets", params=p, headers=desk.headers["handler"])  # noqa: E731
    assert [t["id"] for t in (await get(view="mine")).json()["items"]] == [t2.id]
    assert [t["id"] for t in (await get(view="unassigned")).json()["items"]] == [t1.id]
    assert [t["id"] for t in (await get(customer_id=a.id)).json()["items"]] == [t1.id]
    assert [t["id"] for t in (await get(q="年费")).json()["items"]] == [t2.id]
    assert [t["id"] for t in (await get(q=t1.ticket_no)).json()["items"]] == [t1.id]
    assert [t["id"] for t in (await get(status="assigned")).json()["items"]] == [t2.id]
    assert (await get(status="sleeping")).status_code == 422
    due = (await get(sort="due")).json()["items"]
    assert [t["id"] for t in due] == sorted(
        [t1.id, t2.id], key=lambda i: {t1.id: t1.due_at, t2.id: t2.due_at}[i]
    )


async def test_transfer_needs_a_reason_and_moves_the_order(api, session, desk, make_customer):
    customer = await make_customer(region="北京分行", branch_code="BJ001")
    ticket = await new_ticket(session, customer.id)
    await service.do_assign(
        session=session, ticket=ticket, assignee=desk.staff["handler"], actor=desk.actor("lead")
    )
    await session.commit()
    r = await api.post(
        f"/api/tickets/{ticket.id}/transfer",
        json={"team_id": desk.teams["BR-BJ001"], "reason": ""},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 422
    r = await api.post(
        f"/api/tickets/{ticket.id}/transfer",
        json={"team_id": desk.teams["BR-BJ001"], "reason": "需客户到网点核实身份"},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["ticket"]["status"] == "new" and moved["ticket"]["assignee"] is None
    assert moved["ticket"]["team"]["code"] == "BR-BJ001" and moved["ticket"]["branch_code"] == "BJ001"
    step = next(e for e in moved["timeline"] if e["kind"] == "transferred")
    assert "需客户到网点核实身份" in step["note"] and step["visibility"] == "internal"
    r = await api.get(f"/api/tickets/{ticket.id}", headers=desk.headers["bj"])
    assert r.status_code == 200  # now in the branch's scope
    r = await api.post(
        f"/api/tickets/{ticket.id}/transfer",
        json={"team_id": desk.teams["BR-BJ001"], "reason": "再转一次"},
        headers=desk.headers["bj"],
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "same_team"
    # the branch hands it back to head office: the answer no longer shows the order's content
    r = await api.post(
        f"/api/tickets/{ticket.id}/transfer",
        json={"team_id": desk.teams["HO-OPS"], "reason": "非网点业务"},
        headers=desk.headers["bj"],
    )
    assert r.status_code == 200 and r.json()["timeline"] == [] and r.json()["description"] == ""
    assert (await api.get(f"/api/tickets/{ticket.id}", headers=desk.headers["bj"])).status_code == 404


async def test_subtask_parent_waits_for_it(api, session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    for path in ("claim", "start"):
        assert (
            await api.post(f"/api/tickets/{ticket.id}/{path}", headers=desk.headers["handler"])
        ).status_code == 200
    r = await api.post(
        f"/api/tickets/{ticket.id}/subtasks",
        json={"team_id": desk.teams["HO-FRAUD"], "title": "核实交易流水", "description": "请反欺诈中心协查"},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 201, r.text
    child = r.json()
    assert child["parent_no"] == ticket.ticket_no and child["ticket"]["team"]["code"] == "HO-FRAUD"
    r = await api.post(
        f"/api/tickets/{ticket.id}/resolve",
        json={"resolution": "已处理完毕"},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "subtasks_open"
    parent = (await api.get(f"/api/tickets/{ticket.id}", headers=desk.headers["handler"])).json()
    assert parent["ticket"]["open_subtasks"] == 1 and parent["subtasks"][0]["id"] == child["ticket"]["id"]
    cid = child["ticket"]["id"]
    await api.post(f"/api/tickets/{cid}/claim", headers=desk.headers["fraud"])
    await api.post(f"/api/tickets/{cid}/start", headers=desk.headers["fraud"])
    r = await api.post(
        f"/api/tickets/{cid}/resolve", json={"resolution": "交易为本人所为"}, headers=desk.headers["fraud"]
    )
    assert r.json()["ticket"]["status"] == "closed"
    r = await api.post(
        f"/api/tickets/{ticket.id}/resolve",
        json={"resolution": "已处理完毕"},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 200 and r.json()["ticket"]["status"] == "resolved"
    # the handler was told when the sub-task was done
    r = await api.get("/api/notifications", headers=desk.headers["handler"])
    assert "ticket.subtasks_done" in [n["topic"] for n in r.json()["items"]]


async def test_bulk_actions_report_each_order(api, session, desk, make_customer):
    customer = await make_customer()
    a = await new_ticket(session, customer.id, title="问题一")
    b = await new_ticket(
        session, customer.id, title="完全不同的第二个事项", category="annual_fee", type="inquiry", fields={}
    )
    await service.do_cancel(session=session, ticket=b, actor=desk.actor("handler"), reason="撤销")
    await session.commit()
    r = await api.post(
        "/api/tickets/bulk",
        json={"ids": [a.id, b.id, 999999], "action": "assign", "assignee_id": desk.staff["handler"].id},
        headers=desk.headers["lead"],
    )
    assert r.status_code == 200
    assert [(i["id"], i["ok"], i["code"]) for i in r.json()["items"]] == [
        (a.id, True, None),
        (b.id, False, "invalid_transition"),
        (999999, False, "ticket_not_found"),
    ]
    r = await api.post(
        "/api/tickets/bulk",
        json={"ids": [a.id], "action": "priority", "priority": "urgent", "reason": "领导关注"},
        headers=desk.headers["lead"],
    )
    assert r.json()["items"][0]["ok"]
    assert (await api.get(f"/api/tickets/{a.id}", headers=desk.headers["lead"])).json()["ticket"][
        "priority"
    ] == "urgent"
    r = await api.post(
        "/api/tickets/bulk",
        json={"ids": [a.id], "action": "transfer", "reason": "x"},
        headers=desk.headers["lead"],
    )
    assert r.status_code == 422


async def test_teams_and_members(api, desk, db):
    r = await api.get("/api/tickets/teams", headers=desk.headers["agent"])
    assert {t["code"] for t in r.json()} == {"HO-OPS", "HO-CARD", "HO-FRAUD", "BR-BJ001"}
    r = await api.get(f"/api/tickets/teams/{desk.teams['HO-CARD']}/members", headers=desk.headers["lead"])
    assert {m["id"] for m in r.json()} == {desk.staff["handler"].id, desk.staff["lead"].id}
    async with db.sessionmaker() as s:
        team = await s.get(TicketTeam, desk.teams["HO-CARD"])
        assert (
            await dispatch.escalation_targets(
                session=s, ticket=service.Ticket(team_id=team.id, branch_code=None, assignee_id=None), level=1
            )
        ) == [
            desk.staff["handler"].id,
            desk.staff["lead"].id,
        ]
