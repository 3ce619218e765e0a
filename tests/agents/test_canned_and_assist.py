"""Canned responses with variables, agent assist (facts, compliance hints, similar conversations), and the
administrators' routing settings of groups and agents."""

from __future__ import annotations

from lingxi.agents.assist import rank_similar
from lingxi.agents.canned import honorific, render
from tests.chat_helpers import bearer, say
from tests.knowledge.helpers import publish
from tests.routing_fixtures import settle


def test_render_fills_known_values_and_lists_the_missing():
    text, missing = render("{customer_name}您好，尾号{card_tail}的卡已处理。", {"customer_name": "王先生"})
    assert text == "王先生您好，尾号{card_tail}的卡已处理。" and missing == ["card_tail"]
    assert honorific(surname="王", gender="M", english=False) == "王先生"
    assert honorific(surname="Li", gender="F", english=True) == "Ms Li"
    assert honorific(surname="王", gender=None, english=False) is None


async def test_canned_responses_personal_and_team(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    agent = await make_agent("credit_card")
    other = await make_agent("credit_card", presence=None)
    supervisor = await make_agent(role="supervisor", presence=None)

    r = await api.post(
        "/api/agent/canned-responses",
        json={"title": "问候", "content": "{customer}您好"},
        headers=agent.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_variable"
    r = await api.post(
        "/api/agent/canned-responses",
        json={
            "title": "卡片已冻结",
            "shortcut": "/freeze",
            "content": "{customer_name}您好，我是{agent_name}。您尾号{card_tail}的卡已于{today}临时冻结。",
        },
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["shared"] is False and mine["editable"] is True
    assert mine["variables"] == ["customer_name", "agent_name", "card_tail", "today"]

    r = await api.post(
        "/api/agent/canned-responses",
        json={"title": "结束语", "content": "感谢您的耐心，祝您生活愉快！", "shared": True},
        headers=agent.headers,
    )
    assert r.status_code == 403
    r = await api.post(
        "/api/agent/canned-responses",
        json={"title": "结束语", "content": "感谢您的耐心，祝您生活愉快！", "shared": True},
        headers=supervisor.headers,
    )
    assert r.status_code == 201
    team = r.json()

    listed = (await api.get("/api/agent/canned-responses", headers=agent.headers)).json()
    assert {i["id"] for i in listed["items"]} == {mine["id"], team["id"]}
    assert "card_tail" in listed["variables"]
    assert [
        i["id"]
        for i in (await api.get("/api/agent/canned-responses?q=freeze", headers=agent.headers)).json()[
            "items"
        ]
    ] == [mine["id"]]
    # Another agent sees the team's response, not this agent's own one.
    assert [
        i["id"] for i in (await api.get("/api/agent/canned-responses", headers=other.headers)).json()["items"]
    ] == [team["id"]]
    r = await api.patch(
        f"/api/agent/canned-responses/{mine['id']}", json={"title": "x"}, headers=other.headers
    )
    assert r.status_code == 404
    r = await api.patch(
        f"/api/agent/canned-responses/{team['id']}", json={"title": "x"}, headers=agent.headers
    )
    assert r.status_code == 403
    r = await api.patch(
        f"/api/agent/canned-responses/{mine['id']}", json={"title": None}, headers=agent.headers
    )
    assert r.status_code == 422

    # Rendered for a conversation: the customer's honorific, the agent, the card tail they mentioned.
    waiting = await queue_chat()
    await say(api, waiting.chat, "我尾号6688的信用卡昨天被盗刷了3000元")
    r = await api.get(
        f"/api/agent/conversations/{waiting.public_id}/canned-responses/{mine['id']}", headers=agent.headers
    )
    assert r.status_code == 200, r.text
    rendered = r.json()
    assert rendered["missing"] == []
    assert rendered["text"].startswith("王先生您好，我是" + agent.user.display_name)
    assert "尾号6688" in rendered["text"] and "年" in rendered["text"]

    r = await api.delete(f"/api/agent/canned-responses/{mine['id']}", headers=agent.headers)
    assert r.status_code == 204
    r = await api.delete(f"/api/agent/canned-responses/{mine['id']}", headers=agent.headers)
    assert r.status_code == 404


async def test_assist_facts_hints_and_similar(api, db, make_group, make_agent, queue_chat, make_customer):
    await make_group("credit_card")
    agent = await make_agent("credit_card", capacity=5)

    # A closed conversation on the same topic with close wording, and one on another topic.
    earlier = await queue_chat(intent="balance_inquiry")
    await say(api, earlier.chat, "我想查一下工资卡的余额，为什么少了两千块")
    await api.post(f"/api/agent/conversations/{earlier.public_id}/close", headers=agent.headers)
    await api.post(
        f"/api/agent/conversations/{earlier.public_id}/wrap-up",
        json={"code": "info_provided"},
        headers=agent.headers,
    )
    unrelated = await queue_chat(intent="balance_inquiry")
    await say(api, unrelated.chat, "网点几点开门")
    await api.post(f"/api/agent/conversations/{unrelated.public_id}/close", headers=agent.headers)

    waiting = await queue_chat(intent="card_loss_report")
    await say(api, waiting.chat, "帮我查下工资卡余额，好像少了两千块，卡号6222021234567894")
    await say(api, waiting.chat, "还有尾号8899那张卡，3月5日扣了一笔299元")
    await settle()
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/messages",
        json={"client_msg_id": "a1", "text": "请把收到的短信验证码告诉我"},
        headers=agent.headers,
    )
    assert r.status_code == 200

    r = await api.get(f"/api/agent/conversations/{waiting.public_id}/assist", headers=agent.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    facts = {(f["type"], f["value"]) for f in body["facts"]}
    assert ("card_tail", "8899") in facts
    assert ("card_number", "6222 **** **** 7894") in facts  # masked, never the full number
    assert ("amount", "299 CNY") in facts and ("amount", "2,000 CNY") in facts
    assert any(t == "date" and v.endswith("-03-05") for t, v in facts)
    assert ("account_ref", "salary_card") in facts
    hints = {h["code"]: h for h in body["hints"]}
    # Card loss needs L2 in the taxonomy; the app login gave L1.
    assert hints["verify_before_disclosure"]["severity"] == "warning"
    assert "L1" in hints["verify_before_disclosure"]["text"]["zh-CN"]
    assert hints["fraud_protocol"]["severity"] == "danger"
    assert "full_number_in_chat" in hints and hints["never_ask_secrets"]["severity"] == "danger"
    assert body["suggestions"] == []  # nothing published that fits
    similar = body["similar"]
    assert similar and similar[0]["conversation_id"] == earlier.public_id
    assert similar[0]["wrap_up_code"] == "info_provided"
    assert unrelated.public_id not in {s["conversation_id"] for s in similar}

    # Anonymous visitors: disclose nothing.
    supervisor = await make_agent(role="supervisor", presence=None)
    r = await api.get(f"/api/agent/conversations/{earlier.public_id}/assist", headers=supervisor.headers)
    assert r.status_code == 200
    r = await api.get(f"/api/agent/conversations/{waiting.public_id}/assist", headers=bearer("nonsense"))
    assert r.status_code == 401


async def test_assist_suggests_published_knowledge_answers(
    api, db, make_group, make_agent, queue_chat, editors
):
    await make_group("credit_card")
    agent = await make_agent("credit_card")
    author, reviewer = editors
    entry = await publish(
        api,
        author,
        reviewer,
        standard_question="信用卡年费怎么减免？",
        similar_questions=["年费可以免吗", "信用卡年费减免条件"],
        answer="<p>当年刷卡满<b>6次</b>即可减免次年年费。</p>",
        category="信用卡",
    )
    platinum = await publish(
        api,
        author,
        reviewer,
        standard_question="白金信用卡有哪些权益？",
        similar_questions=["白金卡有什么好处", "白金卡贵宾厅怎么用"],
        answer="<p>机场贵宾厅每年 6 次，年费 2,000 元，消费满 20 万元免次年年费。</p>",
        category="信用卡",
        products=[{"name": "灵犀白金信用卡", "aliases": ["白金信用卡"]}],
    )
    waiting = await queue_chat()
    await say(api, waiting.chat, "我的信用卡年费能减免吗")
    r = await api.get(f"/api/agent/conversations/{waiting.public_id}/assist", headers=agent.headers)
    assert r.status_code == 200, r.text
    [top, *_] = r.json()["suggestions"]
    assert top["entry_id"] == entry["id"] and top["question"] == "信用卡年费怎么减免？"
    assert "6次" in top["answer"] and "<b>" not in top["answer"]  # plain text for the reply box
    assert not any(f["type"] == "product" for f in r.json()["facts"])

    # Naming a product of the knowledge base: a fact, and the entry about it is suggested too.
    await say(api, waiting.chat, "白金信用卡的年费能免吗")
    r = await api.get(f"/api/agent/conversations/{waiting.public_id}/assist", headers=agent.headers)
    body = r.json()
    assert {"type": "product", "value": "灵犀白金信用卡"} in [
        {"type": f["type"], "value": f["value"]} for f in body["facts"]
    ]
    assert platinum["id"] in [s["entry_id"] for s in body["suggestions"]]


def test_similarity_ranks_close_wording_first():
    docs = {1: "信用卡年费怎么收的，能不能免", 2: "房贷提前还款需要预约吗", 3: "信用卡年费被扣了，想申请减免"}
    ranked = rank_similar("我的信用卡被扣了年费，可以减免吗", docs)
    assert ranked[0][0] == 3 and 0 < ranked[0][1] <= 1
    assert 2 not in [doc for doc, _ in ranked]
    assert rank_similar("", docs) == [] and rank_similar("年费", {}) == []


async def test_admin_routing_settings(api, db, make_group, make_staff):
    await make_group("general")
    await make_group("credit_card")
    await make_group("vip")
    agent, _ = await make_staff("agent", max_concurrent_chats=4)
    _, admin = await make_staff("admin")
    h = bearer(admin)
    r = await api.patch(
        "/api/admin/skill-groups/credit_card",
        json={
            "strategy": "round_robin",
            "max_wait_seconds": 90,
            "overflow_group": "general",
            "service_level_seconds": 30,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "code": "credit_card",
        "strategy": "round_robin",
        "max_wait_seconds": 90,
        "overflow_group": "general",
        "timeout_action": "callback",
        "service_level_seconds": 30,
    }
    r = await api.patch("/api/admin/skill-groups/general", json={"overflow_group": "credit_card"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "overflow_loop"
    r = await api.patch("/api/admin/skill-groups/general", json={"overflow_group": "nope"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_skill_group"
    r = await api.patch("/api/admin/skill-groups/general", json={"strategy": None}, headers=h)
    assert r.status_code == 422
    r = await api.patch("/api/admin/skill-groups/general", json={"strategy": "random"}, headers=h)
    assert r.status_code == 422
    r = await api.patch("/api/admin/skill-groups/nope", json={}, headers=h)
    assert r.status_code == 404
    r = await api.patch("/api/admin/skill-groups/credit_card", json={"overflow_group": None}, headers=h)
    assert r.json()["overflow_group"] is None and r.json()["strategy"] == "round_robin"

    r = await api.put(
        f"/api/admin/staff/{agent.id}/routing-profile", json={"channel_capacity": {"wechat": 5}}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_channel_capacity"
    r = await api.put(
        f"/api/admin/staff/{agent.id}/routing-profile", json={"channel_capacity": {"fax": 1}}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_channel"
    r = await api.put(
        f"/api/admin/staff/{agent.id}/routing-profile",
        json={"channel_capacity": {"wechat": 2, "webchat": 3}, "wrap_up_seconds": 45},
        headers=h,
    )
    assert r.status_code == 200
    assert (
        r.json()["channel_capacity"] == {"wechat": 2, "webchat": 3}
        and r.json()["effective_wrap_up_seconds"] == 45
    )
    r = await api.get(f"/api/admin/staff/{agent.id}/routing-profile", headers=h)
    assert r.json()["max_concurrent_chats"] == 4 and r.json()["wrap_up_seconds"] == 45
