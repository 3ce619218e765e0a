"""Customer search, the masked 360 view, the audited reveal, branch scope and permissions over HTTP."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.auth.models import StaffUser
from lingxi.customers.models import ContactPoint, Customer
from lingxi.demo.models import DemoAccount, DemoCard

# SQLite runs on one pooled connection: a test ends its read transaction (commit; expire_on_commit is off)
# before it calls the API, which needs that connection.


async def _customer(session, customer_no: str) -> Customer:
    customer = await session.scalar(select(Customer).where(Customer.customer_no == customer_no))
    assert customer is not None
    await session.commit()
    return customer


async def test_360_is_masked_and_audited(api, demo_session, staff_token):
    customer = await _customer(demo_session, "C0000006")  # private banking: many products
    cards = (await demo_session.scalars(select(DemoCard).where(DemoCard.customer_id == customer.id))).all()
    accounts = (
        await demo_session.scalars(select(DemoAccount).where(DemoAccount.customer_id == customer.id))
    ).all()
    openid = await demo_session.scalar(
        select(ContactPoint.value).where(
            ContactPoint.customer_id == customer.id, ContactPoint.kind == "wechat_openid"
        )
    )
    await demo_session.commit()
    headers = await staff_token("agent07")

    r = await api.get(f"/api/customers/{customer.id}/360", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    text = json.dumps(body, ensure_ascii=False)
    secrets = [customer.phone, customer.id_number, customer.name, customer.email, openid]
    secrets += [c.card_no for c in cards] + [a.account_no for a in accounts]
    for secret in secrets:
        assert secret and secret not in text, secret
    # no long digit run at all (phones, cards, accounts, IDs); loan numbers (LN…) are not personal data
    assert not re.search(r"(?<![\dA-Z])\d{11,}(?!\d)", text)

    profile = body["customer"]
    assert profile["customer_no"] == "C0000006"
    assert profile["name"] == "黄*怡"
    assert profile["phone"] == f"{customer.phone[:3]}****{customer.phone[-4:]}"
    assert profile["id_number"] == f"{customer.id_number[:4]}{'*' * 10}{customer.id_number[-4:]}"
    assert profile["is_vip"] is True and profile["tier"] == "private"
    assert profile["branch_name"] == "深圳分行营业部" and profile["region"] == "深圳分行"
    assert set(profile["consents"]) == {"marketing", "service_notice", "data_analysis"}
    for card in body["cards"]:
        assert re.fullmatch(r"\d{4} \*{4} \*{4} \d{4}", card["card_no"])
        assert card["card_no"].endswith(card["tail4"])
    for account in body["accounts"]:
        assert account["account_no"] == f"****{account['tail4']}"
    kinds = {p["kind"]: p["value"] for p in body["contact_points"]}
    assert kinds["app_user"] == "C0000006" and "****" in kinds["wechat_openid"]
    assert body["loans"] and body["credit_bills"] and body["wealth_holdings"]
    assert body["credit_bills"][0]["items"][0]["merchant"]
    assert any("封闭期至" in h["redemption_rule"] for h in body["wealth_holdings"])
    assert float(body["summary"]["total_wealth"]) > 1_000_000

    agent = await demo_session.scalar(select(StaffUser).where(StaffUser.username == "agent07"))
    audit = await demo_session.scalar(
        select(AuditLog).where(
            AuditLog.action == "customer.view_360", AuditLog.subject_id == str(customer.id)
        )
    )
    assert audit is not None and audit.actor_type == "staff" and audit.actor_id == str(agent.id)


async def test_360_flags_of_personas(api, demo_session, staff_token):
    headers = await staff_token("agent01")
    expected = {
        "C0000001": "bill_due_soon",
        "C0000003": "lost_card",
        "C0000004": "loan_applying",
        "C0000007": "overdue_bill",
    }
    for customer_no, flag in expected.items():
        customer = await _customer(demo_session, customer_no)
        r = await api.get(f"/api/customers/{customer.id}/360", headers=headers)
        assert r.status_code == 200, r.text
        assert flag in r.json()["summary"]["flags"], (customer_no, r.json()["summary"])
    english = await _customer(demo_session, "C0000005")
    r = await api.get(f"/api/customers/{english.id}/360", headers=headers)
    assert r.json()["customer"]["name"] == "J**** W*****" and r.json()["customer"]["language"] == "en"


async def test_reveal_returns_clear_value_and_audits_reason(api, demo_session, staff_token):
    customer = await _customer(demo_session, "C0000001")
    card = await demo_session.scalar(
        select(DemoCard).where(DemoCard.customer_id == customer.id, DemoCard.kind == "credit")
    )
    account = await demo_session.scalar(select(DemoAccount).where(DemoAccount.customer_id == customer.id))
    await demo_session.commit()
    headers = await staff_token("agent02")
    url = f"/api/customers/{customer.id}/reveal"

    r = await api.post(url, json={"field": "phone", "reason": "客户来电要求核对预留手机号"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"field": "phone", "value": customer.phone}
    for field, value in [
        ("id_number", customer.id_number),
        ("name", "张伟"),
        ("email", customer.email),
        (f"card:{card.card_no[-4:]}", card.card_no),
        (f"account:{account.account_no[-4:]}", account.account_no),
    ]:
        r = await api.post(url, json={"field": field, "reason": "办理挂失需核对"}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["value"] == value

    await demo_session.commit()
    rows = (
        await demo_session.scalars(
            select(AuditLog).where(AuditLog.action == "customer.reveal").order_by(AuditLog.id)
        )
    ).all()
    await demo_session.commit()
    assert len(rows) == 6
    assert rows[0].reason == "客户来电要求核对预留手机号" and rows[0].after == {"field": "phone"}
    assert rows[0].subject_id == str(customer.id) and rows[0].actor_type == "staff"
    assert customer.phone not in json.dumps([r.after for r in rows], ensure_ascii=False)

    r = await api.post(url, json={"field": "card:0000", "reason": "核对卡号"}, headers=headers)
    assert r.status_code == 404


async def test_reveal_needs_a_reason_and_a_known_field(api, demo_session, staff_token):
    customer = await _customer(demo_session, "C0000001")
    headers = await staff_token("agent02")
    url = f"/api/customers/{customer.id}/reveal"
    for body in [
        {"field": "phone"},
        {"field": "phone", "reason": " "},
        {"field": "phone", "reason": "x"},
        {"field": "phone", "reason": "y" * 201},
        {"field": "password", "reason": "核对信息"},
        {"field": "card:12", "reason": "核对信息"},
        {"field": "phone", "reason": "核对", "extra": 1},
    ]:
        r = await api.post(url, json=body, headers=headers)
        assert r.status_code == 422, body
        assert r.json()["error"]["code"] == "validation_failed"
    await demo_session.commit()
    assert await demo_session.scalar(select(AuditLog).where(AuditLog.action == "customer.reveal")) is None
    await demo_session.commit()


async def test_branch_scope_for_back_office(api, demo_session, staff_token):
    own = await demo_session.scalar(select(Customer).where(Customer.branch_code == "BJ001").limit(1))
    other = await demo_session.scalar(select(Customer).where(Customer.branch_code == "SZ002").limit(1))
    await demo_session.commit()
    scoped = await staff_token("backoffice01")  # BJ001
    head_office = await staff_token("backoffice02")

    assert (await api.get(f"/api/customers/{own.id}/360", headers=scoped)).status_code == 200
    r = await api.get(f"/api/customers/{other.id}/360", headers=scoped)
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
    assert (await api.get(f"/api/customers/{other.id}/timeline", headers=scoped)).status_code == 404
    assert (await api.get(f"/api/customers/{other.id}/360", headers=head_office)).status_code == 200

    r = await api.get("/api/customers", params={"limit": 50}, headers=scoped)
    assert r.status_code == 200
    assert r.json()["items"] and {c["branch_code"] for c in r.json()["items"]} == {"BJ001"}
    r = await api.get("/api/customers", params={"q": other.customer_no}, headers=scoped)
    assert r.json()["items"] == []


async def test_unknown_customer_and_permissions(api, demo_session, staff_token):
    agent = await staff_token("agent01")
    assert (await api.get("/api/customers/999999/360", headers=agent)).status_code == 404
    r = await api.post(
        "/api/customers/999999/reveal", json={"field": "phone", "reason": "核对信息"}, headers=agent
    )
    assert r.status_code == 404
    customer = await _customer(demo_session, "C0000002")
    assert (await api.get(f"/api/customers/{customer.id}/360")).status_code == 401
    back_office = await staff_token("backoffice02")
    r = await api.post(
        f"/api/customers/{customer.id}/reveal",
        json={"field": "phone", "reason": "核对信息"},
        headers=back_office,
    )
    assert r.status_code == 403
    for username in ("kadmin", "auditor", "admin"):
        headers = await staff_token(username)
        assert (await api.get(f"/api/customers/{customer.id}/360", headers=headers)).status_code == 403, (
            username
        )
        assert (await api.get("/api/customers", headers=headers)).status_code == 403, username
    supervisor = await staff_token("supervisor01")
    r = await api.post(
        f"/api/customers/{customer.id}/reveal",
        json={"field": "name", "reason": "质检复核"},
        headers=supervisor,
    )
    assert r.status_code == 200 and r.json()["value"] == "李秀英"


async def test_search(api, demo_session, staff_token):
    headers = await staff_token("agent01")
    customer = await _customer(demo_session, "C0000003")

    r = await api.get("/api/customers", params={"q": "C0000003"}, headers=headers)
    assert [c["customer_no"] for c in r.json()["items"]] == ["C0000003"]
    item = r.json()["items"][0]
    assert item["display_name"] == "陈*琪" and "****" in item["phone"] and customer.phone not in r.text

    r = await api.get("/api/customers", params={"q": customer.phone[-4:]}, headers=headers)
    assert "C0000003" in [c["customer_no"] for c in r.json()["items"]]
    r = await api.get("/api/customers", params={"q": customer.phone}, headers=headers)
    assert [c["customer_no"] for c in r.json()["items"]] == ["C0000003"]
    r = await api.get("/api/customers", params={"q": "陈思琪"}, headers=headers)
    assert "C0000003" in [c["customer_no"] for c in r.json()["items"]]
    r = await api.get("/api/customers", params={"q": customer.id_number}, headers=headers)
    assert [c["customer_no"] for c in r.json()["items"]] == ["C0000003"]
    r = await api.get("/api/customers", params={"q": "wilson"}, headers=headers)
    assert [c["display_name"] for c in r.json()["items"]] == ["J**** W*****"]
    r = await api.get("/api/customers", params={"q": "123"}, headers=headers)
    assert r.status_code == 422
    r = await api.get("/api/customers", params={"q": "%"}, headers=headers)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await api.get("/api/customers", params={"limit": 5}, headers=headers)
    assert [c["customer_no"] for c in r.json()["items"]] == [f"C000000{n}" for n in range(1, 6)]


async def test_timeline_of_a_customer_without_conversations(api, demo_session, staff_token):
    customer = await _customer(demo_session, "C0000002")
    r = await api.get(f"/api/customers/{customer.id}/timeline", headers=await staff_token("agent01"))
    assert r.status_code == 200, r.text
    assert r.json() == {"items": []}
    await demo_session.commit()
    audit = await demo_session.scalar(select(AuditLog).where(AuditLog.action == "customer.view_timeline"))
    assert audit is not None and audit.subject_id == str(customer.id)


async def test_timeline_lists_conversations_with_messages(api, demo_session, staff_token):
    from lingxi.conversations import service as conversations
    from lingxi.conversations.models import Message

    customer = await _customer(demo_session, "C0000002")
    conversation, _ = await conversations.get_or_open_conversation(
        session=demo_session, channel="wechat", customer_id=customer.id, verification_level="L1"
    )
    demo_session.add(
        Message(
            conversation_id=conversation.id,
            customer_id=customer.id,
            channel="wechat",
            direction="in",
            sender_type="customer",
            content="你好，我想问一下定期存款到期怎么转存",
        )
    )
    await demo_session.commit()

    r = await api.get(f"/api/customers/{customer.id}/timeline", headers=await staff_token("agent01"))
    assert r.status_code == 200, r.text
    [entry] = r.json()["items"]
    assert entry["conversation"]["id"] == conversation.public_id
    assert entry["conversation"]["customer"]["display_name"] == "李*英"
    assert [m["content"] for m in entry["messages"]] == ["你好，我想问一下定期存款到期怎么转存"]
    before = "2020-01-01T00:00:00Z"
    r = await api.get(
        f"/api/customers/{customer.id}/timeline",
        params={"before": before},
        headers=await staff_token("agent01"),
    )
    assert r.json()["items"] == []
