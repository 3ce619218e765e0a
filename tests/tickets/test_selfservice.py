"""The customer's self-service: own orders only, plain-language progress, add information and files,
urge (rate-limited), cancel, confirm or reopen, rate; every staff change pushed to the customer."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from lingxi.core.events import get_dispatcher
from lingxi.core.outbound import OutboundRecord
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.notifications.models import Notification
from lingxi.tickets import service
from tests.chat_helpers import bearer, open_chat
from tests.tickets.conftest import new_ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


async def me(api: httpx.AsyncClient, customer) -> dict[str, str]:
    chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))
    return bearer(chat["session_token"])


async def test_customers_see_only_their_own_orders(api, session, desk, make_customer):
    alice, bob = await make_customer(), await make_customer()
    mine = await new_ticket(session, alice.id, title="账单分期申请")
    theirs = await new_ticket(session, bob.id, title="别人的工单")
    alice_h = await me(api, alice)
    r = await api.get("/api/my/tickets", headers=alice_h)
    assert [t["ticket_no"] for t in r.json()["items"]] == [mine.ticket_no]
    for method, path in [
        ("GET", f"/api/my/tickets/{theirs.ticket_no}"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/info"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/urge"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/cancel"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/confirm"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/reopen"),
        ("POST", f"/api/my/tickets/{theirs.ticket_no}/rating"),
    ]:
        body = {"text": "偷看"} if path.endswith("/info") else {"score": 5} if path.endswith("rating") else {}
        r = await api.request(method, path, json=body if method == "POST" else None, headers=alice_h)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "ticket_not_found"
    r = await api.post(
        f"/api/my/tickets/{theirs.ticket_no}/attachments",
        files={"file": ("a.png", PNG, "image/png")},
        headers=alice_h,
    )
    assert r.status_code == 404
    await session.refresh(theirs)
    assert theirs.status == "new" and theirs.urge_count == 0


async def test_sub_tasks_are_not_the_customers_business(api, session, desk, make_customer):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    actor = desk.actor("handler")
    await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["handler"], actor=actor)
    await service.do_start(session=session, ticket=ticket, actor=actor)
    team = await session.get(service.TicketTeam, desk.teams["HO-FRAUD"])
    child = await service.do_create_subtask(
        session=session, parent=ticket, team=team, title="协查", description="", actor=actor
    )
    await session.commit()
    headers = await me(api, customer)
    r = await api.get("/api/my/tickets", headers=headers)
    assert [t["ticket_no"] for t in r.json()["items"]] == [ticket.ticket_no]
    assert (await api.get(f"/api/my/tickets/{child.ticket_no}", headers=headers)).status_code == 404
    steps = (await api.get(f"/api/my/tickets/{ticket.ticket_no}", headers=headers)).json()["steps"]
    assert [s["text"] for s in steps] == ["工单已受理", "专人已开始处理您的工单", "已协调相关部门共同处理"]


async def test_a_visitor_must_log_in(api, desk):
    chat = await open_chat(api)
    r = await api.get("/api/my/tickets", headers=bearer(chat["session_token"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "login_required"


async def test_progress_add_info_and_files(api, session, desk, make_customer, db):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    actor = desk.actor("handler")
    await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["handler"], actor=actor)
    await service.do_start(session=session, ticket=ticket, actor=actor)
    await service.do_request_info(session=session, ticket=ticket, note="请上传签证申请材料清单", actor=actor)
    await service.do_add_comment(
        session=session, ticket=ticket, text="内部：核心系统限额", visibility="internal", actor=actor
    )
    await session.commit()
    headers = await me(api, customer)
    r = await api.get(f"/api/my/tickets/{ticket.ticket_no}", headers=headers)
    progress = r.json()
    assert progress["status_label"] == "待您补充信息" and progress["stage"] == 1
    assert progress["steps"][-1]["text"] == "需要您补充信息：请上传签证申请材料清单"
    assert progress["next_step"] == "请在下方补充信息或上传材料。"
    assert "内部" not in r.text and "dispatched" not in r.text
    assert progress["actions"] == {
        "add_info": True,
        "urge": True,
        "cancel": True,
        "confirm": False,
        "reopen": False,
        "rate": False,
    }
    r = await api.post(
        f"/api/my/tickets/{ticket.ticket_no}/info", json={"text": "材料清单已准备好"}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["status"] == "in_progress" and [s["kind"] for s in r.json()["steps"]][-2:] == [
        "customer_info",
        "resumed",
    ]
    r = await api.post(
        f"/api/my/tickets/{ticket.ticket_no}/attachments",
        files={"file": ("清单.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    [attachment] = r.json()["attachments"]
    assert attachment["content_type"] == "application/pdf" and attachment["filename"] == "清单.pdf"
    r = await api.get(f"/api/my/tickets/{ticket.ticket_no}/attachments/{attachment['id']}", headers=headers)
    assert r.status_code == 200 and r.content == PDF and r.headers["x-content-type-options"] == "nosniff"
    # staff see it too, and were told
    r = await api.get(
        f"/api/tickets/{ticket.id}/attachments/{attachment['id']}", headers=desk.headers["handler"]
    )
    assert r.content == PDF
    topics = (await api.get("/api/notifications", headers=desk.headers["handler"])).json()["items"]
    assert {"ticket.customer_info", "ticket.customer_attachment"} <= {n["topic"] for n in topics}


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("x.exe", b"MZ\x90\x00" + b"\x00" * 64, 422, "attachment_type_not_allowed"),
        ("fake.png", b"<html>not a picture</html>", 422, "attachment_type_not_allowed"),
        ("empty.png", b"", 422, "attachment_empty"),
    ],
)
async def test_attachment_types_are_checked_from_the_bytes(
    api, session, desk, make_customer, name, data, status, code
):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    r = await api.post(
        f"/api/my/tickets/{ticket.ticket_no}/attachments",
        files={"file": (name, data, "image/png")},
        headers=await me(api, customer),
    )
    assert r.status_code == status and r.json()["error"]["code"] == code


async def test_attachment_size_limit(api, session, desk, make_customer, settings, monkeypatch):
    monkeypatch.setattr(settings, "ticket_attachment_max_bytes", 1024)
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    big = b"\xff\xd8\xff" + b"\x00" * 2048
    r = await api.post(
        f"/api/my/tickets/{ticket.ticket_no}/attachments",
        files={"file": ("big.jpg", big, "image/jpeg")},
        headers=await me(api, customer),
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "attachment_too_large"
    # far beyond any upload: refused before the body is read
    r = await api.post(
        f"/api/tickets/{ticket.id}/comments",
        content=b"x" * (2 * 1024 * 1024),
        headers={**desk.headers["handler"], "content-type": "application/json"},
    )
    assert r.status_code == 413


async def test_urge_is_rate_limited_and_raises_attention(
    api, session, desk, make_customer, settings, monkeypatch
):
    customer = await make_customer()
    ticket = await new_ticket(session, customer.id)
    await service.do_assign(
        session=session, ticket=ticket, assignee=desk.staff["handler"], actor=desk.actor("lead")
    )
    await session.commit()
    headers = await me(api, customer)
    r = await api.post(f"/api/my/tickets/{ticket.ticket_no}/urge", headers=headers)
    assert (
        r.status_code == 200
        and r.json()["steps"][-1]["text"].startswith("您已催办")
        and r.json()["actions"]["urge"] is False
    )
    r = await api.post(f"/api/my/tickets/{ticket.ticket_no}/urge", headers=headers)
    assert (
        r.status_code == 429
        and r.json()["error"]["code"] == "urge_too_soon"
        and int(r.headers["retry-after"]) > 0
    )
    monkeypatch.setattr(settings, "ticket_urge_interval_minutes", 0)
    r = await api.post(f"/api/my/tickets/{ticket.ticket_no}/urge", headers=headers)
    assert r.status_code == 200
    await session.refresh(ticket)
    assert ticket.urge_count == 2 and ticket.priority == "high"  # the second urge raises the priority
    await api.post(f"/api/my/tickets/{ticket.ticket_no}/urge", headers=headers)
    r = await api.post(f"/api/my/tickets/{ticket.ticket_no}/urge", headers=headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "urge_daily_limit"
    told = (await api.get("/api/notifications", headers=desk.headers["handler"])).json()["items"]
    assert [n["topic"] for n in told].count("ticket.urged") == 3


async def test_cancel_confirm_reopen_and_rate(api, session, desk, make_customer):
    customer = await make_customer()
    headers = await me(api, customer)
    first = await new_ticket(session, customer.id)
    r = await api.post(
        f"/api/my/tickets/{first.ticket_no}/cancel", json={"reason": "已自行解决"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["stage"] == 3
    r = await api.post(f"/api/my/tickets/{first.ticket_no}/cancel", json={}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert "message_zh" in r.json()["error"]["details"]

    second = await new_ticket(
        session,
        customer.id,
        title="另一张完全不同的工单：积分兑换",
        category="points_redemption",
        type="inquiry",
        fields={},
    )
    actor = desk.actor("handler")
    await service.do_assign(session=session, ticket=second, assignee=desk.staff["handler"], actor=actor)
    await service.do_start(session=session, ticket=second, actor=actor)
    await service.do_resolve(session=session, ticket=second, resolution="积分已补记 2000 分", actor=actor)
    await session.commit()
    r = await api.post(f"/api/my/tickets/{second.ticket_no}/rating", json={"score": 6}, headers=headers)
    assert r.status_code == 422
    r = await api.post(
        f"/api/my/tickets/{second.ticket_no}/reopen", json={"reason": "积分没到账"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "reopened"
    await session.refresh(second)
    assert second.reopen_count == 1 and second.due_at is not None and second.resolution_met is None
    await service.do_start(session=session, ticket=second, actor=actor)
    await service.do_resolve(session=session, ticket=second, resolution="已再次补记并短信告知", actor=actor)
    await session.commit()
    r = await api.post(f"/api/my/tickets/{second.ticket_no}/confirm", headers=headers)
    assert (
        r.status_code == 200
        and r.json()["status"] == "closed"
        and r.json()["resolution"] == "已再次补记并短信告知"
    )
    r = await api.post(
        f"/api/my/tickets/{second.ticket_no}/rating", json={"score": 2, "comment": "太慢了"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["rating"] == 2 and r.json()["actions"]["rate"] is False
    r = await api.post(f"/api/my/tickets/{second.ticket_no}/rating", json={"score": 5}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_rated"
    # a low rating asks the team lead to call back
    told = (await api.get("/api/notifications", headers=desk.headers["lead"])).json()["items"]
    assert "ticket.low_rating" in [n["topic"] for n in told]
    r = await api.post(
        f"/api/my/tickets/{second.ticket_no}/info", json={"text": "再补充一句"}, headers=headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_not_open"


async def test_staff_changes_are_pushed_on_the_customers_channel(
    api, session, desk, make_customer, db, settings, monkeypatch
):
    monkeypatch.setattr(settings, "quiet_hours_end", settings.quiet_hours_start)  # no quiet hours here
    customer = await make_customer(preferred_channel="app")
    ticket = await new_ticket(session, customer.id, channel="webchat")
    actor = desk.actor("handler")
    await service.do_assign(session=session, ticket=ticket, assignee=desk.staff["handler"], actor=actor)
    await service.do_start(session=session, ticket=ticket, actor=actor)
    await service.do_request_info(session=session, ticket=ticket, note="请提供护照首页", actor=actor)
    await session.commit()
    await get_dispatcher().drain()
    async with db.sessionmaker() as s:
        rows = (await s.scalars(select(OutboundRecord).order_by(OutboundRecord.id))).all()
        notices = (
            await s.scalars(select(Notification).where(Notification.recipient_type == "customer"))
        ).all()
    # created (by staff), started, information requested; the internal assignment is not pushed
    assert [r.adapter for r in rows] == ["app_push"] * 3
    assert rows[-1].recipient == customer.customer_no
    expected = f"【灵犀银行】您的工单{ticket.ticket_no}：需要您补充信息：请提供护照首页。"
    assert rows[-1].content == expected + "详情请在手机银行“我的工单”查看。"
    assert all(n.status == "sent" and n.channel == "app_push" for n in notices)
    # the customer's own action is not pushed back to them
    headers = await me(api, customer)
    await api.post(f"/api/my/tickets/{ticket.ticket_no}/info", json={"text": "已上传"}, headers=headers)
    await get_dispatcher().drain()
    async with db.sessionmaker() as s:
        count = len((await s.scalars(select(OutboundRecord))).all())
    assert count == 3  # nor the resumption their information caused
