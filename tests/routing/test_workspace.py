"""The agent workspace and the supervisor: transfers with notes, invite, whisper, take-over, wrap-up,
the satisfaction survey, presence."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select
from websockets.asyncio.client import connect

from lingxi.agents.connections import get_registry
from lingxi.agents.models import AgentProfile, CsatResponse
from lingxi.core.timeutil import utcnow
from lingxi.routing.router import route_all, sweep
from tests.chat_helpers import next_frame, ws_url
from tests.routing_fixtures import assigned_to, entry_of, set_idle_since, set_presence, settle


async def customer_messages(api, waiting) -> list[dict]:
    r = await api.get("/api/chat/messages", headers=waiting.headers)
    assert r.status_code == 200
    return r.json()["items"]


async def test_transfer_to_a_colleague_with_a_note_only_staff_see(
    api, db, make_group, make_agent, queue_chat
):
    await make_group("credit_card")
    first = await make_agent("credit_card")
    waiting = await queue_chat()
    assert await assigned_to(db, waiting) == first.id
    await make_group("loans_wealth")
    colleague = await make_agent("loans_wealth")
    note = "客户咨询分期提前结清，已核实L2，请继续办理"
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/transfer",
        json={"to_agent_id": colleague.id, "note": note},
        headers=first.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["assigned_agent"]["id"] == colleague.id
    messages = await customer_messages(api, waiting)
    assert colleague.user.display_name in messages[-1]["content"]
    assert all(note not in m["content"] for m in messages)  # the note never reaches the customer

    r = await api.get(f"/api/agent/conversations/{waiting.public_id}/notes", headers=colleague.headers)
    [transfer] = r.json()["items"]
    assert (transfer["kind"], transfer["text"], transfer["author_id"]) == ("transfer", note, first.id)
    # The first agent no longer has it: replying is refused, reading it is not found.
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/messages",
        json={"client_msg_id": "x1", "text": "还在吗"},
        headers=first.headers,
    )
    assert r.status_code == 404

    # Transfers are refused to agents who are not online, and to oneself.
    away = await make_agent("credit_card", presence=None)
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/transfer",
        json={"to_agent_id": away.id, "note": ""},
        headers=colleague.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "agent_unavailable"
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/transfer",
        json={"to_agent_id": colleague.id, "to_group": "general"},
        headers=colleague.headers,
    )
    assert r.status_code == 422


async def test_transfer_to_a_group_goes_ahead_and_not_back(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    await make_group("fraud_risk")
    first = await make_agent("credit_card", "fraud_risk")
    waiting = await queue_chat()
    assert await assigned_to(db, waiting) == first.id
    specialist = await make_agent("fraud_risk", presence=None)
    await set_idle_since(db, first, utcnow() - timedelta(hours=1))
    r = await api.post(
        f"/api/agent/conversations/{waiting.public_id}/transfer",
        json={"to_group": "fraud_risk", "note": "疑似盗刷，请反欺诈组核实"},
        headers=first.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "queued" and r.json()["skill_group"] == "fraud_risk"
    await settle()
    # The transferring agent is excluded even though they are the longest idle: it waits.
    assert await assigned_to(db, waiting) is None
    entry = await entry_of(db, waiting)
    assert (entry.kind, entry.excluded_agent_id, entry.points) == ("transfer", first.id, 30)
    await set_presence(db, specialist, "online")
    await settle()
    assert await assigned_to(db, waiting) == specialist.id


async def test_invite_whisper_and_take_over(api, db, make_group, make_agent, make_staff, queue_chat):
    await make_group("credit_card")
    agent = await make_agent("credit_card")
    waiting = await queue_chat()
    supervisor = await make_agent("credit_card", role="supervisor", presence=None)
    agent_ws = await connect(ws_url(api, f"/api/agent/ws?token={agent.token}"))
    try:
        await next_frame(agent_ws, "hello")
        r = await api.post(
            f"/api/agent/conversations/{waiting.public_id}/invite",
            json={"text": "客户要求减免年费，请主管协助"},
            headers=agent.headers,
        )
        assert r.status_code == 201 and r.json()["kind"] == "invite"
        board = (await api.get("/api/supervisor/wallboard", headers=supervisor.headers)).json()
        [invite] = board["invites"]
        assert invite["conversation_id"] == waiting.public_id

        r = await api.post(
            f"/api/supervisor/conversations/{waiting.public_id}/whisper",
            json={"text": "可以申请减免一次，按流程提交"},
            headers=supervisor.headers,
        )
        assert r.status_code == 201, r.text
        invited = await next_frame(agent_ws, "note", conversation_id=waiting.public_id)
        assert invited["note"]["kind"] == "invite"
        frame = await next_frame(agent_ws, "note", conversation_id=waiting.public_id)
        assert frame["note"]["kind"] == "whisper" and frame["note"]["to_agent_id"] == agent.id
        assert all("减免一次" not in m["content"] for m in await customer_messages(api, waiting))
        board = (await api.get("/api/supervisor/wallboard", headers=supervisor.headers)).json()
        assert board["invites"] == []  # answered

        # An agent may not whisper or take over.
        r = await api.post(
            f"/api/supervisor/conversations/{waiting.public_id}/take-over", headers=agent.headers
        )
        assert r.status_code == 403
        r = await api.post(
            f"/api/supervisor/conversations/{waiting.public_id}/take-over", headers=supervisor.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["assigned_agent"]["id"] == supervisor.id
        await next_frame(agent_ws, "conversation", conversation_id=waiting.public_id)
        messages = await customer_messages(api, waiting)
        assert "主管" in messages[-1]["content"]
    finally:
        await agent_ws.close()


async def test_close_asks_for_a_score_and_starts_the_wrap_up(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    agent = await make_agent("credit_card", capacity=1, wrap_up_seconds=120)
    first = await queue_chat()
    second = await queue_chat()
    assert await assigned_to(db, first) == agent.id
    r = await api.post("/api/chat/survey", json={"score": 5}, headers=first.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_survey"

    r = await api.post(f"/api/agent/conversations/{first.public_id}/close", headers=agent.headers)
    assert r.status_code == 200
    survey = (await customer_messages(api, first))[-1]
    assert survey["payload"]["event"] == "survey" and "打分" in survey["content"]
    await settle()
    presence = (await api.get("/api/agent/presence", headers=agent.headers)).json()
    assert presence["state"] == "wrap_up" and presence["wrap_up_until"] is not None
    assert await assigned_to(db, second) is None  # no push during wrap-up

    codes = (await api.get("/api/agent/wrap-up-codes", headers=agent.headers)).json()["items"]
    assert {"resolved", "ticket_created", "complaint"} <= {c["code"] for c in codes}
    r = await api.post(
        f"/api/agent/conversations/{first.public_id}/wrap-up",
        json={"code": "nonsense"},
        headers=agent.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_wrap_up_code"
    r = await api.post(
        f"/api/agent/conversations/{second.public_id}/wrap-up",
        json={"code": "resolved"},
        headers=agent.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_closed"
    r = await api.post(
        f"/api/agent/conversations/{first.public_id}/wrap-up",
        json={"code": "resolved", "note": "已解释年费收取规则"},
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        f"/api/agent/conversations/{first.public_id}/wrap-up",
        json={"code": "resolved"},
        headers=agent.headers,
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrap_up_exists"
    await settle()
    assert await assigned_to(db, second) == agent.id  # the wrap-up ended: the next chat came

    # The customer answers the survey once; the score is stored with the agent.
    r = await api.post("/api/chat/survey", json={"score": 6}, headers=first.headers)
    assert r.status_code == 422
    r = await api.post("/api/chat/survey", json={"score": 4, "comment": "解答清楚"}, headers=first.headers)
    assert r.status_code == 201, r.text
    r = await api.post("/api/chat/survey", json={"score": 5}, headers=first.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_answered"
    async with db.sessionmaker() as s:
        [answer] = (await s.scalars(select(CsatResponse))).all()
        assert (answer.score, answer.agent_id, answer.comment) == (4, agent.id, "解答清楚")


async def test_wrap_up_time_runs_out_by_itself(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    agent = await make_agent("credit_card", capacity=1, wrap_up_seconds=30)
    first = await queue_chat()
    second = await queue_chat()
    await api.post(f"/api/agent/conversations/{first.public_id}/close", headers=agent.headers)
    await settle()
    assert await assigned_to(db, second) is None
    async with db.sessionmaker() as s:
        profile = await s.get(AgentProfile, agent.id)
        profile.wrap_up_until = utcnow() - timedelta(seconds=1)
        await s.commit()
    assert await route_all() == 1
    assert await assigned_to(db, second) == agent.id


async def test_presence_switch(api, db, make_group, make_agent, make_staff):
    await make_group("credit_card")
    agent = await make_agent("credit_card", presence=None)
    r = await api.get("/api/agent/presence", headers=agent.headers)
    body = r.json()
    assert body["presence"] == "offline" and body["state"] == "offline" and body["groups"] == ["credit_card"]
    assert "lunch" in body["reasons"]["away"] and "disconnected" not in body["reasons"]["away"]

    r = await api.put("/api/agent/presence", json={"presence": "away"}, headers=agent.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "presence_reason_required"
    r = await api.put(
        "/api/agent/presence", json={"presence": "away", "reason": "disconnected"}, headers=agent.headers
    )
    assert r.status_code == 422  # set by the system only
    r = await api.put(
        "/api/agent/presence", json={"presence": "online", "reason": "lunch"}, headers=agent.headers
    )
    assert r.status_code == 422
    r = await api.put("/api/agent/presence", json={"presence": "asleep"}, headers=agent.headers)
    assert r.status_code == 422
    r = await api.put(
        "/api/agent/presence", json={"presence": "away", "reason": "lunch"}, headers=agent.headers
    )
    assert r.status_code == 200 and r.json()["state"] == "away" and r.json()["reason"] == "lunch"
    r = await api.put("/api/agent/presence", json={"presence": "online"}, headers=agent.headers)
    assert r.json()["state"] == "available" and r.json()["reason"] is None

    supervisor = await make_agent(role="supervisor", presence=None)
    r = await api.put(
        f"/api/supervisor/agents/{agent.id}/presence",
        json={"presence": "offline"},
        headers=supervisor.headers,
    )
    assert r.status_code == 200 and r.json()["reason"] == "supervisor"
    board = (await api.get("/api/supervisor/wallboard", headers=supervisor.headers)).json()
    [row] = [a for a in board["agents"] if a["id"] == agent.id]
    assert row["state"] == "offline" and row["groups"] == ["credit_card"]
    assert board["agents_by_state"]["offline"] >= 2


async def test_an_online_agent_whose_workspace_is_gone_is_set_away(api, db, make_group, make_agent, settings):
    await make_group("credit_card")
    agent = await make_agent("credit_card")
    api_only = await make_agent("credit_card")  # never opened the workspace: left alone
    ws = await connect(ws_url(api, f"/api/agent/ws?token={agent.token}"))
    await next_frame(ws, "hello")
    liveness = await get_registry().liveness([agent.id, api_only.id])
    assert liveness[agent.id].live == 1 and liveness[api_only.id].live == 0
    await ws.close()
    await asyncio.sleep(0.2)
    assert (await get_registry().liveness([agent.id]))[agent.id].live == 0
    old = settings.routing_disconnect_grace_seconds
    settings.routing_disconnect_grace_seconds = 0
    try:
        await asyncio.sleep(0.05)
        counts = await sweep()
    finally:
        settings.routing_disconnect_grace_seconds = old
    assert counts["set_away"] >= 1
    me = (await api.get("/api/agent/presence", headers=agent.headers)).json()
    assert (me["presence"], me["reason"]) == ("away", "disconnected")
    assert (await api.get("/api/agent/presence", headers=api_only.headers)).json()["presence"] == "online"


async def test_wallboard_socket_is_live(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    supervisor = await make_agent(role="supervisor", presence=None)
    ws = await connect(ws_url(api, f"/api/supervisor/ws?token={supervisor.token}"))
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "wallboard" and first["wallboard"]["waiting"] == 0
        await queue_chat()
        deadline = asyncio.get_running_loop().time() + 8
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 8))
            if frame["type"] == "wallboard" and frame["wallboard"]["waiting"] == 1:
                break
            assert asyncio.get_running_loop().time() < deadline
        await ws.send(json.dumps({"type": "ping"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "pong":
            pass
    finally:
        await ws.close()
    agent = await make_agent("credit_card", presence=None)
    # Agents may not open it.
    ws = await connect(ws_url(api, f"/api/supervisor/ws?token={agent.token}"))
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["type"] == "error"
    await ws.close()
