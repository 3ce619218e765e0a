"""The app/web chat channel over the real server: sessions, REST, WebSocket with resume."""

from __future__ import annotations

import json
import uuid

from lingxi.identity.app_tokens import issue_demo_app_token
from tests.chat_helpers import bearer, chat_socket, next_frame, open_chat, say


async def test_anonymous_visitor_chats_at_l0_and_bot_answers(api):
    chat = await open_chat(api)
    assert chat["verification_level"] == "L0"
    assert chat["customer"] is None
    assert chat["visitor_id"].startswith("v-")
    sent = await say(api, chat, "你好")
    assert sent["sender_type"] == "customer" and sent["direction"] == "in"
    r = await api.get("/api/chat/messages", headers=bearer(chat["session_token"]))
    items = r.json()["items"]
    assert [m["sender_type"] for m in items] == ["customer", "bot"]
    assert items[1]["sender_name"] == "灵犀助手"


async def test_visitor_gets_the_same_open_conversation_back(api):
    first = await open_chat(api)
    again = await open_chat(api, visitor_id=first["visitor_id"])
    assert again["conversation_id"] == first["conversation_id"]


async def test_repeated_client_msg_id_stores_once(api):
    chat = await open_chat(api)
    a = await say(api, chat, "查询余额", client_msg_id="c-same-1")
    b = await say(api, chat, "查询余额", client_msg_id="c-same-1")
    assert a["id"] == b["id"]
    items = (await api.get("/api/chat/messages", headers=bearer(chat["session_token"]))).json()["items"]
    assert sum(1 for m in items if m["sender_type"] == "customer") == 1
    assert sum(1 for m in items if m["sender_type"] == "bot") == 1


async def test_app_token_identifies_customer_at_l1_with_masked_name(api, make_customer):
    customer = await make_customer(name="王小明")
    chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))
    assert chat["verification_level"] == "L1"
    assert chat["customer"]["display_name"] == "王*明"
    assert chat["visitor_id"] is None


async def test_bad_and_expired_app_tokens_are_refused(api, make_customer):
    customer = await make_customer()
    r = await api.post("/api/chat/sessions", json={"app_token": "not-a-jwt"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "app_token_invalid"
    r = await api.post(
        "/api/chat/sessions", json={"app_token": issue_demo_app_token(customer.customer_no, minutes=-1)}
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "app_token_expired"
    r = await api.post("/api/chat/sessions", json={"app_token": issue_demo_app_token("C-NOBODY")})
    assert r.status_code == 401


async def test_invalid_input_gets_clear_4xx(api):
    chat = await open_chat(api)
    r = await api.post(
        "/api/chat/messages",
        json={"client_msg_id": "c-1", "text": "x" * 2001},
        headers=bearer(chat["session_token"]),
    )
    assert r.status_code == 422 and "text" in r.json()["error"]["message"]
    r = await api.post(
        "/api/chat/messages",
        json={"client_msg_id": "c-1", "text": "hi", "extra": 1},
        headers=bearer(chat["session_token"]),
    )
    assert r.status_code == 422
    r = await api.post("/api/chat/messages", json={"client_msg_id": "c-1", "text": "hi"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "no_chat_token"
    tampered = chat["session_token"][:-3] + ("aaa" if not chat["session_token"].endswith("aaa") else "bbb")
    r = await api.get("/api/chat/messages", headers=bearer(tampered))
    assert r.status_code == 401


async def test_websocket_send_ack_bot_reply_and_resume(api):
    chat = await open_chat(api)
    ws = await chat_socket(api, chat)
    try:
        await next_frame(ws, "status")
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c-ws-1", "text": "你好"}))
        ack = await next_frame(ws, "ack")
        assert ack["client_msg_id"] == "c-ws-1"
        bot = await next_frame(ws, "message", sender_type="bot")
        last_seen = bot["message"]["id"]
        await ws.send(json.dumps({"type": "ping"}))
        await next_frame(ws, "pong")
        await ws.send("not json")
        assert (await next_frame(ws, "error"))["error"]["code"] == "bad_frame"
        await ws.send(json.dumps({"type": "message", "client_msg_id": "c-ws-2", "text": ""}))
        assert (await next_frame(ws, "error"))["error"]["code"] == "validation_failed"
    finally:
        await ws.close()
    # While disconnected two more messages arrive; a resume with last_id gets exactly those.
    await say(api, chat, "还在吗")
    ws = await chat_socket(api, chat, last_id=last_seen)
    try:
        first = await next_frame(ws, "message")
        second = await next_frame(ws, "message")
        assert first["message"]["id"] > last_seen
        assert [first["message"]["sender_type"], second["message"]["sender_type"]] == ["customer", "bot"]
    finally:
        await ws.close()


async def test_websocket_refuses_bad_token(api):
    from websockets.asyncio.client import connect

    from tests.chat_helpers import ws_url

    async with connect(ws_url(api, "/api/chat/ws?token=bogus")) as ws:
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["error"]["code"] == "chat_token_invalid"


async def test_one_chat_token_never_reads_another_conversation(api):
    a = await open_chat(api)
    b = await open_chat(api)
    await say(api, a, f"秘密 {uuid.uuid4()}")
    items_b = (await api.get("/api/chat/messages", headers=bearer(b["session_token"]))).json()["items"]
    assert items_b == []
