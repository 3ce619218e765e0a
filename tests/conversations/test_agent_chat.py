"""Customer, bot and agent in one conversation: hand-off, accept, reply, close, visibility."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from lingxi.identity.app_tokens import issue_demo_app_token
from tests.chat_helpers import bearer, chat_socket, next_frame, open_chat, say, ws_url


async def test_handoff_accept_reply_close(api, make_staff, make_customer):
    customer = await make_customer(name="张伟", tier="vip")
    agent, token = await make_staff("agent", display_name="客服小张")
    chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))
    customer_ws = await chat_socket(api, chat)
    agent_ws = await connect(ws_url(api, f"/api/agent/ws?token={token}"))
    try:
        await next_frame(agent_ws, "hello")
        await say(api, chat, "信用卡账单有问题，转人工")
        queued = await next_frame(agent_ws, "conversation")
        assert queued["status"] == "queued"
        await next_frame(customer_ws, "status", status="queued")

        r = await api.get("/api/agent/conversations?scope=queued", headers=bearer(token))
        [summary] = r.json()["items"]
        assert summary["customer"]["display_name"] == "张*" and summary["customer"]["is_vip"] is True
        assert summary["handoff_reason"] == "customer_request"
        cid = summary["id"]

        r = await api.post(
            f"/api/agent/conversations/{cid}/messages",
            json={"client_msg_id": "a-0", "text": "早"},
            headers=bearer(token),
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_assigned_to_you"

        r = await api.post(f"/api/agent/conversations/{cid}/accept", headers=bearer(token))
        assert r.status_code == 200 and r.json()["status"] == "assigned"
        joined = await next_frame(customer_ws, "message", sender_type="system")
        assert "客服小张" in joined["message"]["content"]

        r = await api.post(
            f"/api/agent/conversations/{cid}/messages",
            json={"client_msg_id": "a-1", "text": "您好，请问有什么可以帮您？"},
            headers=bearer(token),
        )
        assert r.status_code == 200
        reply = await next_frame(customer_ws, "message", sender_type="agent")
        assert reply["message"]["sender_name"] == "客服小张"

        await say(api, chat, "账单多扣了一笔年费")
        incoming = await next_frame(agent_ws, "message", sender_type="customer")
        assert incoming["message"]["content"] == "账单多扣了一笔年费"
        # The bot stays quiet once a person has the chat.
        items = (await api.get("/api/chat/messages", headers=bearer(chat["session_token"]))).json()["items"]
        assert items[-1]["sender_type"] == "customer"

        r = await api.post(f"/api/agent/conversations/{cid}/close", headers=bearer(token))
        assert r.json()["status"] == "closed"
        await next_frame(customer_ws, "status", status="closed")
    finally:
        await customer_ws.close()
        await agent_ws.close()


async def test_two_agents_racing_for_one_conversation(api, make_staff):
    _, t1 = await make_staff("agent")
    _, t2 = await make_staff("agent")
    chat = await open_chat(api)
    await say(api, chat, "人工")
    cid = chat["conversation_id"]
    r1, r2 = await asyncio.gather(
        api.post(f"/api/agent/conversations/{cid}/accept", headers=bearer(t1)),
        api.post(f"/api/agent/conversations/{cid}/accept", headers=bearer(t2)),
    )
    assert sorted([r1.status_code, r2.status_code]) == [200, 409]
    loser = t2 if r1.status_code == 200 else t1
    r = await api.get(f"/api/agent/conversations/{cid}", headers=bearer(loser))
    assert r.status_code == 404  # now someone else's chat


async def test_agent_capacity_is_respected(api, make_staff):
    _, token = await make_staff("agent", max_concurrent_chats=1)
    first, second = await open_chat(api), await open_chat(api)
    for chat in (first, second):
        await say(api, chat, "人工")
    assert (
        await api.post(f"/api/agent/conversations/{first['conversation_id']}/accept", headers=bearer(token))
    ).status_code == 200
    r = await api.post(f"/api/agent/conversations/{second['conversation_id']}/accept", headers=bearer(token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "agent_at_capacity"


async def test_agent_socket_rejects_bad_token_and_wrong_role(api, make_staff):
    async with connect(ws_url(api, "/api/agent/ws?token=nope")) as ws:
        assert json.loads(await ws.recv())["error"]["code"] == "bad_token"
    _, auditor = await make_staff("auditor")
    async with connect(ws_url(api, f"/api/agent/ws?token={auditor}")) as ws:
        assert json.loads(await ws.recv())["error"]["code"] == "forbidden"


async def test_roles_without_chat_permission_get_403(api, make_staff):
    _, token = await make_staff("knowledge_admin")
    r = await api.get("/api/agent/conversations", headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


async def test_capacity_holds_when_one_agent_accepts_many_chats_at_once(api, make_staff):
    _, token = await make_staff("agent", max_concurrent_chats=2)
    chats = [await open_chat(api) for _ in range(6)]
    for chat in chats:
        await say(api, chat, "人工")
    responses = await asyncio.gather(
        *(
            api.post(f"/api/agent/conversations/{c['conversation_id']}/accept", headers=bearer(token))
            for c in chats
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 409, 409, 409, 409]
    mine = (await api.get("/api/agent/conversations?scope=mine", headers=bearer(token))).json()["items"]
    assert len(mine) == 2
