"""A customer's chat session token opens that one conversation and nothing else."""

from __future__ import annotations

import asyncio
import json
import uuid

import jwt

from lingxi.identity.app_tokens import issue_demo_app_token
from tests.chat_helpers import bearer, chat_socket, open_chat, say


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def _texts(api, chat) -> list[str]:
    r = await api.get("/api/chat/messages", headers=bearer(chat["session_token"]))
    assert r.status_code == 200, r.text
    return [m["content"] for m in r.json()["items"] if m["sender_type"] == "customer"]


async def test_a_chat_token_reads_only_its_own_conversation(api, make_customer):
    wang = await make_customer(name="王小明")
    li = await make_customer(name="李芳芳")
    a = await open_chat(api, app_token=issue_demo_app_token(wang.customer_no))
    b = await open_chat(api, app_token=issue_demo_app_token(li.customer_no))
    v = await open_chat(api)  # an anonymous visitor
    assert len({a["conversation_id"], b["conversation_id"], v["conversation_id"]}) == 3
    await say(api, a, "我的信用卡账单是多少")
    await say(api, b, "我要挂失借记卡")
    await say(api, v, "营业时间")
    assert await _texts(api, a) == ["我的信用卡账单是多少"]
    assert await _texts(api, b) == ["我要挂失借记卡"]
    assert await _texts(api, v) == ["营业时间"]

    # No parameter points a token at another conversation: unknown query fields are ignored or refused,
    # never followed.
    r = await api.get(
        "/api/chat/messages",
        params={"conversation_id": b["conversation_id"]},
        headers=bearer(a["session_token"]),
    )
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert {m["conversation_id"] for m in r.json()["items"]} == {a["conversation_id"]}
    r = await api.post(
        "/api/chat/messages",
        json={"client_msg_id": f"c-{uuid.uuid4()}", "text": "x", "conversation_id": b["conversation_id"]},
        headers=bearer(a["session_token"]),
    )
    assert r.status_code == 422  # extra fields are refused
    assert await _texts(api, b) == ["我要挂失借记卡"]


async def test_tampered_chat_tokens_are_refused(api, settings):
    a = await open_chat(api)
    b = await open_chat(api)
    claims_a, claims_b = _claims(a["session_token"]), _claims(b["session_token"])
    # B's conversation in A's token, re-signed with a guessed key: bad signature.
    forged = jwt.encode(
        {**claims_a, "cid": claims_b["cid"], "sub": claims_b["sub"]}, "guess-" * 8, algorithm="HS256"
    )
    r = await api.get("/api/chat/messages", headers=bearer(forged))
    assert r.status_code == 401
    # Unsigned ("alg": "none"): refused.
    unsigned = jwt.encode({**claims_a, "cid": claims_b["cid"]}, None, algorithm="none")
    assert (await api.get("/api/chat/messages", headers=bearer(unsigned))).status_code == 401
    # Even a correctly signed token whose internal id and public id disagree opens nothing.
    mixed = jwt.encode({**claims_a, "cid": claims_b["cid"]}, settings.secret_key, algorithm="HS256")
    r = await api.get("/api/chat/messages", headers=bearer(mixed))
    assert r.status_code in (401, 404)
    assert "items" not in r.json()


async def test_a_chat_token_is_not_a_staff_login(api):
    a = await open_chat(api)
    b = await open_chat(api)
    await say(api, b, "我的卡被吞了")
    for method, path in [
        ("GET", f"/api/agent/conversations/{b['conversation_id']}"),
        ("GET", "/api/agent/conversations?scope=all"),
        ("POST", f"/api/agent/conversations/{b['conversation_id']}/accept"),
        ("GET", "/api/auth/me"),
    ]:
        r = await api.request(method, path, headers=bearer(a["session_token"]))
        assert r.status_code == 401, (method, path, r.status_code)


async def test_the_socket_carries_only_its_own_conversation(api):
    a = await open_chat(api)
    b = await open_chat(api)
    ws = await chat_socket(api, a)
    try:
        await say(api, b, "这是B的消息")
        await say(api, a, "这是A的消息")
        seen: list[dict] = []

        async def until_own_message() -> None:
            while True:
                frame = json.loads(await ws.recv())
                seen.append(frame)
                if frame.get("type") == "message" and frame["message"]["content"] == "这是A的消息":
                    return

        await asyncio.wait_for(until_own_message(), 5)
        await asyncio.sleep(0.3)  # anything of B's would have arrived by now
        while True:
            try:
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
            except TimeoutError:
                break
        messages = [f["message"] for f in seen if f.get("type") == "message"]
        assert messages and {m["conversation_id"] for m in messages} == {a["conversation_id"]}
        assert all("B的" not in m["content"] for m in messages)
    finally:
        await ws.close()
