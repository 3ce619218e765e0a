"""Creating orders: by staff, from a conversation (prefilled), by the customer, by the bot; the
duplicate / invalid guard and the knowledge-base seam."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select, update

from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.tickets import service
from lingxi.tickets.knowledge import KnowledgeSuggestion, set_knowledge_check
from lingxi.tickets.models import Ticket
from tests.chat_helpers import bearer, open_chat, say
from tests.tickets.conftest import new_ticket

BOT = Actor.system("bot")


async def customer_chat(api, customer) -> dict:
    return await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))


async def test_staff_create_and_read_back_masked(api, desk, make_customer):
    customer = await make_customer()
    body = {
        "customer_id": customer.id,
        "type": "complaint",
        "category": "complaint",
        "title": "网点柜员服务态度差",
        "description": "客户称在网点办理业务时被柜员训斥，手机 13800138000，卡号 6222021234567890123",
        "fields": {
            "complaint_about": "staff_service",
            "incident_date": "2026-11-28",
            "desired_outcome": "希望道歉",
        },
        "channel": "phone",
    }
    r = await api.post("/api/tickets", json=body, headers=desk.headers["agent"])
    assert r.status_code == 201, r.text
    detail = r.json()
    assert detail["ticket"]["status"] == "new" and detail["ticket"]["priority"] == "high"
    assert detail["ticket"]["customer"]["display_name"] != customer.name  # masked
    assert "13800138000" not in detail["description"] and "138****8000" in detail["description"]
    assert "6222021234567890123" not in r.text
    assert detail["field_labels"][0] == ["投诉对象", "服务态度"]
    assert detail["sla"]["due_at"] and detail["sla"]["breached"] is False
    assert "assign" in detail["allowed_actions"] and "auto_resolve" not in detail["allowed_actions"]
    r = await api.get(f"/api/tickets/{detail['ticket']['id']}", headers=desk.headers["handler"])
    assert r.status_code == 200 and r.json()["ticket"]["ticket_no"] == detail["ticket"]["ticket_no"]


async def test_staff_create_refuses_bad_input_with_422(api, desk, make_customer):
    customer = await make_customer()
    r = await api.post(
        "/api/tickets",
        json={
            "customer_id": customer.id,
            "type": "complaint",
            "category": "complaint",
            "title": "投诉",
            "fields": {},
        },
        headers=desk.headers["agent"],
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "bad_ticket_fields"
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"fields.complaint_about", "fields.incident_date", "fields.desired_outcome"}
    r = await api.post(
        "/api/tickets",
        json={"customer_id": 424242, "type": "inquiry", "category": "other", "title": "咨询"},
        headers=desk.headers["agent"],
    )
    assert r.status_code == 404


async def test_duplicate_guard_on_staff_create(api, desk, make_customer):
    customer = await make_customer()
    body = {
        "customer_id": customer.id,
        "type": "inquiry",
        "category": "transfer_not_received",
        "title": "跨行转账5000元三天未到账",
        "description": "11月27日向招商银行账户转账，对方一直没有收到",
    }
    first = await api.post("/api/tickets", json=body, headers=desk.headers["agent"])
    assert first.status_code == 201
    again = {**body, "title": "转账一直没到账", "description": "我27号转给招行的5000块对方还没收到"}
    r = await api.post(
        "/api/tickets/check",
        json={k: again[k] for k in ("customer_id", "type", "category", "title", "description")},
        headers=desk.headers["agent"],
    )
    assert r.status_code == 200
    check = r.json()
    assert check["advice"] == "follow_existing"
    assert check["duplicates"][0]["ticket_no"] == first.json()["ticket"]["ticket_no"]
    r = await api.post("/api/tickets", json=again, headers=desk.headers["agent"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_suspected"
    assert r.json()["error"]["details"]["duplicates"][0]["suggestion"] == "follow"
    r = await api.post(
        "/api/tickets", json={**again, "acknowledge_duplicates": True}, headers=desk.headers["agent"]
    )
    assert r.status_code == 201
    # a different matter of the same customer is no duplicate
    other = {**body, "category": "annual_fee", "title": "年费能否减免", "description": "白金卡年费太高"}
    r = await api.post("/api/tickets", json=other, headers=desk.headers["agent"])
    assert r.status_code == 201


async def test_duplicates_are_per_customer_recent_and_unfinished(session, desk, make_customer, frozen_clock):
    from datetime import timedelta

    alice, bob = await make_customer(), await make_customer()
    done = await new_ticket(session, alice.id, title="信用卡账单金额不对", category="bill_inquiry")
    await service.do_cancel(session=session, ticket=done, actor=desk.actor("handler"), reason="客户撤销")
    await new_ticket(session, bob.id, title="信用卡账单金额不对", category="bill_inquiry")
    check = await service.check_before_create(
        session=session,
        customer_id=alice.id,
        type="inquiry",
        category="bill_inquiry",
        title="账单金额不对",
        description="",
    )
    assert check.duplicates == [] and check.advice == "create"
    old = await new_ticket(session, alice.id, title="信用卡账单金额不对", category="bill_inquiry")
    frozen_clock.advance(timedelta(days=31))
    check = await service.check_before_create(
        session=session,
        customer_id=alice.id,
        type="inquiry",
        category="bill_inquiry",
        title="账单金额不对",
        description="",
    )
    assert old.id not in [d.ticket.id for d in check.duplicates]


class FakeKnowledge:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(
        self, *, session, query: str, language: str, channel: str | None
    ) -> Sequence[KnowledgeSuggestion]:
        self.calls.append({"query": query, "language": language, "channel": channel})
        return [
            KnowledgeSuggestion(
                title="如何激活新卡", answer="登录手机银行，在“信用卡-卡片激活”中操作。", score=0.91
            ),
            KnowledgeSuggestion(title="不相关", answer="…", score=0.2),
        ]


async def test_the_knowledge_seam_offers_answers_for_faq_questions(session, desk, make_customer):
    customer = await make_customer()
    kb = FakeKnowledge()
    check = await service.check_before_create(
        session=session,
        customer_id=customer.id,
        type="inquiry",
        category="card_activation",
        title="新卡怎么激活",
        description="",
        channel="webchat",
        knowledge=kb,
    )
    assert check.advice == "answer_from_knowledge"
    assert [k.title for k in check.knowledge] == ["如何激活新卡"]  # low scores are dropped
    assert kb.calls == [{"query": "新卡怎么激活\n", "language": "zh-CN", "channel": "webchat"}]
    # a complaint is never answered away by the knowledge base
    check = await service.check_before_create(
        session=session,
        customer_id=customer.id,
        type="complaint",
        category="complaint",
        title="投诉",
        description="",
        knowledge=kb,
    )
    assert check.knowledge == [] and len(kb.calls) == 1
    # installed for everyone (the knowledge domain does this at start-up)
    set_knowledge_check(kb)
    try:
        check = await service.check_before_create(
            session=session,
            customer_id=customer.id,
            type="inquiry",
            category="card_activation",
            title="激活",
            description="",
        )
        assert check.knowledge
    finally:
        set_knowledge_check(None)


async def test_draft_from_a_conversation(api, desk, make_customer, db):
    customer = await make_customer()
    chat = await customer_chat(api, customer)
    await say(api, chat, "我的信用卡账单里有一笔消费不是我刷的")
    await say(api, chat, "金额是3999元，卡号尾号1234")
    async with db.sessionmaker() as s:
        await s.execute(
            update(Conversation)
            .where(Conversation.public_id == chat["conversation_id"])
            .values(
                intent=None,
                context={
                    "handoff": {  # what the bot leaves for the agent when it hands over
                        "reason": "fraud",
                        "intent": "fraud_report",
                        "slots": {
                            "card_tail4": "1234",
                            "amount": "3999",
                            "loss_channel": "刷卡",
                            "city": "北京",
                        },
                        "summary": {"zh-CN": "客户咨询「疑似诈骗/盗刷」；转人工原因：疑似诈骗/盗刷。"},
                    }
                },
            )
        )
        await s.commit()
    r = await api.get(
        "/api/tickets/draft",
        params={"conversation_id": chat["conversation_id"]},
        headers=desk.headers["agent"],
    )
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["customer_id"] == customer.id and draft["channel"] == "webchat"
    assert (draft["type"], draft["category"], draft["priority"]) == ("fraud", "fraud_report", "urgent")
    # only valid fields of the template: "刷卡" is no loss_channel choice, "city" no field at all
    assert draft["fields"] == {"card_tail4": "1234", "amount": "3999.00"}
    assert draft["description"].startswith("【机器人转人工摘要】客户咨询「疑似诈骗/盗刷」")
    assert draft["title"].startswith("疑似诈骗/盗刷：我的信用卡账单里")
    assert "客户：金额是3999元" in draft["description"]
    r = await api.get(
        "/api/tickets/draft",
        params={"conversation_id": chat["conversation_id"]},
        headers=desk.headers["handler"],
    )
    assert r.status_code == 403  # back office does not read chats
    body = {
        "customer_id": customer.id,
        "type": "fraud",
        "category": "fraud_report",
        "title": draft["title"],
        "description": draft["description"],
        "fields": {
            **draft["fields"],
            "incident_at": "2026-11-29T21:40:00+08:00",
            "loss_channel": "online_payment",
        },
        "conversation_id": chat["conversation_id"],
    }
    r = await api.post("/api/tickets", json=body, headers=desk.headers["agent"])
    assert r.status_code == 201, r.text
    created = r.json()
    assert (
        created["conversation_id"] == chat["conversation_id"]
        and created["ticket"]["source"] == "conversation"
    )
    assert created["ticket"]["team"]["code"] == "HO-FRAUD"


async def test_visitor_chat_has_no_customer_to_draft_for(api, desk):
    chat = await open_chat(api)
    r = await api.get(
        "/api/tickets/draft",
        params={"conversation_id": chat["conversation_id"]},
        headers=desk.headers["agent"],
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "customer_not_identified"


async def test_bot_functions(session, desk, make_customer):
    """The exact functions the bot calls: create, list, plain-language progress."""
    customer = await make_customer()
    ticket = await service.do_create_ticket(
        session=session,
        customer_id=customer.id,
        type="technical",
        category="login_problem",
        title="手机银行登录提示错误码E1023",
        description="更新到最新版本后无法登录",
        fields={"platform": "android", "error_code": "E1023"},
        source="bot",
        channel="webchat",
        conversation_id=None,
        actor=BOT,
    )
    await session.commit()
    other = await new_ticket(session, customer.id)
    await service.do_cancel(session=session, ticket=other, actor=desk.actor("handler"), reason="重复")
    await session.commit()
    everything = await service.list_customer_tickets(session=session, customer_id=customer.id)
    assert [t.id for t in everything] == [other.id, ticket.id]
    open_ = await service.list_customer_tickets(session=session, customer_id=customer.id, open_only=True)
    assert [t.id for t in open_] == [ticket.id]
    timeline = await service.get_timeline(session=session, ticket=ticket)
    progress = service.customer_view(ticket, timeline)
    assert progress.status_label == "已受理" and progress.type_label == "技术故障"
    assert progress.summary.startswith("我们已收到您的工单")
    assert [s.text for s in progress.steps] == ["工单已受理"]  # the internal dispatch step is not shown
    assert ticket.ticket_no in progress.as_text()
    english = service.customer_view(ticket, timeline, language="en")
    assert english.status_label == "Received" and english.steps[0].text == "Your request was received"


async def test_customer_creates_through_self_service(api, desk, make_customer, db):
    customer = await make_customer()
    chat = await customer_chat(api, customer)
    headers = bearer(chat["session_token"])
    body = {
        "type": "technical",
        "category": "login_problem",
        "title": "手机银行无法登录",
        "description": "一直提示网络异常",
        "fields": {"platform": "ios"},
    }
    r = await api.post("/api/my/tickets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "new" and created["steps"][0]["text"] == "工单已受理"
    r = await api.post("/api/my/tickets", json={**body, "title": "手机银行登录不了"}, headers=headers)
    assert (
        r.status_code == 409
        and r.json()["error"]["details"]["duplicates"][0]["ticket_no"] == created["ticket_no"]
    )
    async with db.sessionmaker() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.ticket_no == created["ticket_no"]))
        assert (
            ticket.source == "customer"
            and ticket.created_by_type == "customer"
            and ticket.channel == "webchat"
        )
    r = await api.post("/api/my/tickets", json={**body, "fields": {"platform": "symbian"}}, headers=headers)
    assert r.status_code == 422


@pytest.mark.parametrize("field", ["type", "category"])
async def test_customer_create_refuses_unknown_codes(api, desk, make_customer, field):
    customer = await make_customer()
    chat = await customer_chat(api, customer)
    body = {"type": "inquiry", "category": "other", "title": "咨询一个问题", field: "nonsense"}
    r = await api.post("/api/my/tickets", json=body, headers=bearer(chat["session_token"]))
    assert r.status_code == 422
