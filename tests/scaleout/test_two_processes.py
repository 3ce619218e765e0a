"""Two API processes, one PostgreSQL database, one Redis: the scale-out deployment behaves as one system.

Process A and process B are separate `uvicorn` subprocesses with the same settings; they share nothing but
PostgreSQL (state) and Redis (realtime fan-out). The tests prove that
1. a customer on A and an agent on B talk to each other live (hand-off, accept, reply, next message);
2. concurrent accepts spread over A and B never give a conversation to two agents and never push an
   agent over `max_concurrent_chats`;
3. a customer who disconnects from A and reconnects to B with `last_id` gets exactly what it missed,
   then live messages again;
4. hand-offs routed by both processes' routers (push) while agents accept by hand (pull) through
   either process never give a conversation to two agents or an agent more than their capacity.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from lingxi.agents.models import AgentSkill, SkillGroup
from lingxi.audit.models import AuditLog
from lingxi.auth.models import StaffUser
from lingxi.auth.service import hash_password, issue_staff_token
from lingxi.conversations.models import Conversation, Message
from lingxi.core.db import Database
from lingxi.core.timeutil import utcnow
from lingxi.customers.models import ContactPoint, Customer
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.routing.models import QueueEntry
from lingxi.settings import Settings, get_settings
from tests.chat_helpers import bearer, next_frame, open_chat
from tests.scaleout.servers import ServerProcess, create_database, drop_database, server_env

PG_URL = os.environ.get("LINGXI_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LINGXI_REDIS_URL")

pytestmark = [
    pytest.mark.pg,
    pytest.mark.skipif(
        not (PG_URL and PG_URL.startswith("postgresql") and REDIS_URL),
        reason="scale-out tests need PostgreSQL and Redis: "
        "set LINGXI_TEST_DATABASE_URL=postgresql+asyncpg://… and LINGXI_REDIS_URL=redis://…",
    ),
]

FRAME_TIMEOUT = 5.0  # seconds for any one expected WebSocket frame


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    database: Database  # the test's own connection to the shared database, for set-up and checks

    @property
    def servers(self) -> tuple[ServerProcess, ServerProcess]:
        return (self.a, self.b)


@dataclass(frozen=True)
class Agent:
    id: int
    token: str
    display_name: str


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """A fresh PostgreSQL database and two server processes on it; everything removed afterwards."""
    assert PG_URL and REDIS_URL
    db_url = await create_database(PG_URL)
    database = Database(Settings(database_url=db_url))
    logs: Path = tmp_path_factory.mktemp("scaleout")
    env = server_env(database_url=db_url, redis_url=REDIS_URL, settings=get_settings())
    a = ServerProcess("A", env, logs / "server-a.log")
    b = ServerProcess("B", env, logs / "server-b.log")
    try:
        await asyncio.gather(a.launch(), b.launch())
        yield Cluster(a=a, b=b, database=database)
    finally:
        a.stop()
        b.stop()
        await database.dispose()
        await drop_database(PG_URL, db_url)


# --- data made directly in the shared database --------------------------------------------------------

_PASSWORD_HASH: list[str] = []


async def make_agents(database: Database, count: int, *, capacity: int, prefix: str) -> list[Agent]:
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(hash_password("Lingxi@2026"))
    async with database.sessionmaker() as session:
        users = [
            StaffUser(
                username=f"{prefix}{i:02d}",
                display_name=f"客服{prefix.upper()}{i:02d}",
                password_hash=_PASSWORD_HASH[0],
                role="agent",
                max_concurrent_chats=capacity,
            )
            for i in range(count)
        ]
        session.add_all(users)
        await session.commit()
        return [Agent(id=u.id, token=issue_staff_token(u), display_name=u.display_name) for u in users]


async def make_customer(database: Database, customer_no: str, name: str) -> None:
    async with database.sessionmaker() as session:
        customer = Customer(
            customer_no=customer_no,
            name=name,
            id_number=f"3101151988{secrets.randbelow(10**8):08d}",
            phone=f"1391234{secrets.randbelow(10**4):04d}",
        )
        session.add(customer)
        await session.flush()
        session.add(ContactPoint(customer_id=customer.id, kind="app_user", value=customer_no))
        await session.commit()


async def make_queued_conversations(database: Database, count: int) -> list[Conversation]:
    now = utcnow()
    async with database.sessionmaker() as session:
        items = [
            Conversation(
                public_id=str(uuid.uuid4()),
                channel="webchat",
                visitor_id=f"v-scaleout-{i:02d}",
                status="queued",
                queued_at=now,
                context={"handoff_reason": "customer_request"},
            )
            for i in range(count)
        ]
        session.add_all(items)
        await session.commit()
        return items


# --- sockets --------------------------------------------------------------------------------------


async def customer_socket(server: ServerProcess, chat: dict[str, Any], last_id: int = 0) -> ClientConnection:
    return await connect(
        f"{server.ws_base}/api/chat/ws?token={chat['session_token']}&last_id={last_id}", open_timeout=5
    )


async def agent_socket(server: ServerProcess, agent: Agent) -> ClientConnection:
    ws = await connect(f"{server.ws_base}/api/agent/ws?token={agent.token}", open_timeout=5)
    # "hello" is sent once the socket is subscribed to its broker channels.
    await next_frame(ws, "hello", timeout=FRAME_TIMEOUT)
    return ws


async def send_text(ws: ClientConnection, client_msg_id: str, text: str) -> dict[str, Any]:
    """Send a customer message on the socket; returns the stored message from the ack."""
    await ws.send(json.dumps({"type": "message", "client_msg_id": client_msg_id, "text": text}))
    ack = await next_frame(ws, "ack", timeout=FRAME_TIMEOUT, client_msg_id=client_msg_id)
    return ack["message"]


# --- 1. customer on A, agent on B ----------------------------------------------------------------------


async def test_customer_on_a_talks_with_agent_on_b(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    await make_customer(cluster.database, "C7000001", "周晓琳")
    [agent] = await make_agents(cluster.database, 1, capacity=3, prefix="live")
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as api_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as api_b,
    ):
        chat = await open_chat(api_a, app_token=issue_demo_app_token("C7000001"))
        cid = chat["conversation_id"]
        customer_ws = await customer_socket(a, chat)
        agent_ws = await agent_socket(b, agent)
        try:
            await next_frame(customer_ws, "status", timeout=FRAME_TIMEOUT, status="bot")

            # The customer asks for a person on A; the queue change reaches the agent's socket on B.
            await send_text(customer_ws, "live-c1", "转人工")
            queued = await next_frame(
                agent_ws, "conversation", timeout=FRAME_TIMEOUT, conversation_id=cid, status="queued"
            )
            assert queued["status"] == "queued"
            await next_frame(customer_ws, "status", timeout=FRAME_TIMEOUT, status="queued")
            r = await api_b.get("/api/agent/conversations?scope=queued", headers=bearer(agent.token))
            [waiting] = [c for c in r.json()["items"] if c["id"] == cid]
            assert waiting["customer"]["display_name"] == "周*琳"  # masked, as on one process

            # The agent accepts and replies on B; the customer's socket on A sees both.
            r = await api_b.post(f"/api/agent/conversations/{cid}/accept", headers=bearer(agent.token))
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "assigned" and r.json()["assigned_agent"]["id"] == agent.id
            await next_frame(
                agent_ws, "conversation", timeout=FRAME_TIMEOUT, conversation_id=cid, status="assigned"
            )
            status = await next_frame(customer_ws, "status", timeout=FRAME_TIMEOUT, status="assigned")
            assert status["agent_name"] == agent.display_name
            joined = await next_frame(customer_ws, "message", timeout=FRAME_TIMEOUT, sender_type="system")
            assert agent.display_name in joined["message"]["content"]

            text = "您好，我是客服，请问信用卡哪一笔交易有疑问？"
            r = await api_b.post(
                f"/api/agent/conversations/{cid}/messages",
                json={"client_msg_id": "live-a1", "text": text},
                headers=bearer(agent.token),
            )
            assert r.status_code == 200, r.text
            reply = await next_frame(customer_ws, "message", timeout=FRAME_TIMEOUT, sender_type="agent")
            assert reply["message"]["id"] == r.json()["id"]
            assert reply["message"]["content"] == text
            assert reply["message"]["sender_name"] == agent.display_name

            # The customer's next message, sent on A, arrives on the agent's socket on B.
            sent = await send_text(customer_ws, "live-c2", "11月20日有一笔 299 元的年费，我没有开通过")
            incoming = await next_frame(
                agent_ws,
                "message",
                timeout=FRAME_TIMEOUT,
                conversation_id=cid,
                sender_type="customer",
                client_msg_id="live-c2",
            )
            assert incoming["message"]["id"] == sent["id"]
            assert incoming["message"]["content"] == "11月20日有一笔 299 元的年费，我没有开通过"
        finally:
            await customer_ws.close()
            await agent_ws.close()


# --- 2. concurrent accepts across processes -------------------------------------------------------------

CONVERSATIONS = 20
AGENTS = 6
CAPACITY = 3


async def test_concurrent_accepts_across_processes_keep_assignment_and_capacity(cluster: Cluster) -> None:
    """Every agent tries every queued conversation, in random order, half through A and half through B,
    all at once. Afterwards the database must show one assignment per conversation and no agent over
    capacity."""
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    conversations = await make_queued_conversations(cluster.database, CONVERSATIONS)
    agents = await make_agents(cluster.database, AGENTS, capacity=CAPACITY, prefix="race")
    by_public = {c.public_id: c.id for c in conversations}
    limits = httpx.Limits(max_connections=30, max_keepalive_connections=30)
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30, limits=limits) as api_a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30, limits=limits) as api_b,
    ):

        async def accept(agent: Agent, public_id: str, api: httpx.AsyncClient) -> tuple[int, str, int, str]:
            r = await api.post(f"/api/agent/conversations/{public_id}/accept", headers=bearer(agent.token))
            code = r.json().get("error", {}).get("code", "") if r.status_code != 200 else ""
            return agent.id, public_id, r.status_code, code

        attempts = []
        for i, agent in enumerate(agents):
            for k, public_id in enumerate(rng.sample(list(by_public), len(by_public))):
                attempts.append(accept(agent, public_id, api_a if (i + k) % 2 == 0 else api_b))
        rng.shuffle(attempts)
        results = await asyncio.gather(*attempts)

    context = f"(seed {seed})"
    unexpected = [r for r in results if (r[2], r[3]) not in _EXPECTED_OUTCOMES]
    assert not unexpected, (
        f"accept answered other than 200 / 409 taken / 409 at capacity {context}: {unexpected}"
    )
    won = sorted(
        (by_public[public_id], agent_id) for agent_id, public_id, status, _ in results if status == 200
    )

    async with cluster.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Conversation.id, Conversation.status, Conversation.assigned_agent_id).where(
                    Conversation.id.in_(list(by_public.values()))
                )
            )
        ).all()
        audits = (
            await session.execute(
                select(AuditLog.subject_id, AuditLog.after).where(
                    AuditLog.action == "conversation.assign", AuditLog.subject_type == "conversation"
                )
            )
        ).all()
        joined = (
            await session.scalars(
                select(Message.conversation_id).where(
                    Message.conversation_id.in_(list(by_public.values())), Message.sender_type == "system"
                )
            )
        ).all()

    ids = set(by_public.values())
    assigned = {cid: agent_id for cid, status, agent_id in rows if status == "assigned"}
    ours = [(int(subject_id), after) for subject_id, after in audits if int(subject_id) in ids]
    audit_count = Counter(cid for cid, _ in ours)
    audit_agents = {cid: after["agent_id"] for cid, after in ours}

    # One assignment per conversation: one winner, one audit row, one "agent joined" message.
    assert all(agent_id is not None for agent_id in assigned.values())
    assert sorted(assigned.items()) == won, f"the 200 answers and the database disagree {context}"
    assert {cid: n for cid, n in audit_count.items() if n != 1} == {}, f"audit rows per assignment {context}"
    assert set(audit_agents) == set(assigned) and audit_agents == assigned, context
    assert Counter(joined) == dict.fromkeys(assigned, 1), f"'agent joined' messages {context}"

    # No agent over capacity.
    load = Counter(assigned.values())
    over = {
        agent_id: sorted(cid for cid, holder in assigned.items() if holder == agent_id)
        for agent_id, n in load.items()
        if n > CAPACITY
    }
    assert not over, (
        f"agents over capacity {CAPACITY} {context}: "
        + "; ".join(f"agent {agent_id} holds {len(cids)} chats {cids}" for agent_id, cids in over.items())
        + f". Refused at capacity: {sum(1 for r in results if r[3] == 'agent_at_capacity')} of {len(results)}"
        " accepts. do_assign counts the agent's open chats, then updates the conversation: concurrent"
        " accepts by one agent (on either process) all count the same committed total and all pass."
    )
    # And no capacity lost: each agent tried every conversation, so each one ends with a full load.
    assert sorted(load.values()) == [CAPACITY] * AGENTS, f"loads {dict(load)} {context}"
    assert len(assigned) == AGENTS * CAPACITY


_EXPECTED_OUTCOMES = {(200, ""), (409, "conversation_taken"), (409, "agent_at_capacity")}


# --- 3. resume on another process -------------------------------------------------------------------------


async def test_customer_resumes_on_b_what_happened_while_away_from_a(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    [agent] = await make_agents(cluster.database, 1, capacity=3, prefix="resume")
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as api_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as api_b,
    ):
        chat = await open_chat(api_a, visitor_id=f"v-{uuid.uuid4().hex}")
        cid = chat["conversation_id"]

        # On A: the customer writes, gets the ack, and the connection drops at once.
        ws = await customer_socket(a, chat)
        try:
            await next_frame(ws, "status", timeout=FRAME_TIMEOUT)
            first = await send_text(ws, "resume-c1", "我的借记卡在ATM被吞了，要人工")
        finally:
            await ws.close()
        last_id = first["id"]

        # While the customer is away (its bot answer is already missed): an agent takes over on A.
        r = await api_a.post(f"/api/agent/conversations/{cid}/accept", headers=bearer(agent.token))
        assert r.status_code == 200, r.text
        for n, text in enumerate(
            ["您好，卡片被吞的网点和时间是？", "我已为您登记，请带身份证到网点领取。"], 1
        ):
            r = await api_a.post(
                f"/api/agent/conversations/{cid}/messages",
                json={"client_msg_id": f"resume-a{n}", "text": text},
                headers=bearer(agent.token),
            )
            assert r.status_code == 200, r.text

        r = await api_b.get(f"/api/chat/messages?after={last_id}", headers=bearer(chat["session_token"]))
        missed = r.json()["items"]
        kinds = [m["sender_type"] for m in missed]
        assert "bot" in kinds and "system" in kinds and kinds.count("agent") == 2, kinds

        # Reconnect to B with last_id: the missed messages in order, then the status, then live ones.
        ws = await customer_socket(b, chat, last_id=last_id)
        try:
            replayed = []
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
                if frame["type"] == "status":
                    break
                assert frame["type"] == "message", frame
                replayed.append(frame["message"])
            assert [m["id"] for m in replayed] == [m["id"] for m in missed]
            assert frame["status"] == "assigned" and frame["agent_name"] == agent.display_name

            # Live again, across processes: the agent writes on A, the customer's socket on B gets it once.
            r = await api_a.post(
                f"/api/agent/conversations/{cid}/messages",
                json={"client_msg_id": "resume-a3", "text": "请问还有其他可以帮您的吗？"},
                headers=bearer(agent.token),
            )
            assert r.status_code == 200, r.text
            live = json.loads(await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT))
            assert live["type"] == "message" and live["message"]["id"] == r.json()["id"], live
            sent = await send_text(ws, "resume-c2", "没有了，谢谢")
            assert sent["id"] > live["message"]["id"]
        finally:
            await ws.close()


# --- 4. push assignment by two routers, pull accepts at the same time -------------------------------------

HANDOFFS = 24
ROUTED_AGENTS = 6
ROUTED_CAPACITY = 3


async def test_push_and_pull_across_processes_keep_assignment_and_capacity(cluster: Cluster) -> None:
    """Customers on A and B ask for a person (the bot hands over to the `general` queue); agents come
    online through A and B, so both processes' routers push, while every agent also accepts waiting
    chats by hand through either process. Afterwards: one agent per conversation, nobody over capacity,
    every slot used, and the queue entries agree."""
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    agents = await make_agents(cluster.database, ROUTED_AGENTS, capacity=ROUTED_CAPACITY, prefix="push")
    async with cluster.database.sessionmaker() as session:
        group = SkillGroup(
            code="general", name_zh="综合业务", name_en="General service", strategy="least_busy"
        )
        session.add(group)
        await session.flush()
        session.add_all(AgentSkill(agent_id=a.id, skill_group_id=group.id, proficiency=3) for a in agents)
        await session.commit()
    numbers = [f"C72{i:05d}" for i in range(HANDOFFS)]
    for n, number in enumerate(numbers):
        await make_customer(cluster.database, number, ("孙丽华", "钱志明", "周静怡", "吴国栋")[n % 4])
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    async with (
        httpx.AsyncClient(base_url=cluster.a.url, timeout=30, limits=limits) as api_a,
        httpx.AsyncClient(base_url=cluster.b.url, timeout=30, limits=limits) as api_b,
    ):
        apis = (api_a, api_b)
        chats = [
            await open_chat(apis[n % 2], app_token=issue_demo_app_token(number))
            for n, number in enumerate(numbers)
        ]

        async def hand_over(n: int, chat: dict[str, Any]) -> None:
            r = await apis[n % 2].post(
                "/api/chat/messages",
                json={"client_msg_id": f"push-{n}", "text": "转人工"},
                headers=bearer(chat["session_token"]),
            )
            assert r.status_code == 200, r.text

        async def online(i: int, agent: Agent) -> None:
            r = await apis[i % 2].put(
                "/api/agent/presence", json={"presence": "online"}, headers=bearer(agent.token)
            )
            assert r.status_code == 200, r.text

        async def accept(agent: Agent, chat: dict[str, Any], api: httpx.AsyncClient) -> tuple[int, str]:
            await asyncio.sleep(rng.random() * 0.5)
            r = await api.post(
                f"/api/agent/conversations/{chat['conversation_id']}/accept", headers=bearer(agent.token)
            )
            return r.status_code, r.json().get("error", {}).get("code", "") if r.status_code != 200 else ""

        work: list[Any] = [hand_over(n, chat) for n, chat in enumerate(chats)]
        work += [online(i, agent) for i, agent in enumerate(agents)]
        work += [
            accept(agent, chat, apis[(i + k) % 2])
            for i, agent in enumerate(agents)
            for k, chat in enumerate(rng.sample(chats, 6))
        ]
        rng.shuffle(work)
        results = await asyncio.gather(*work)

    context = f"(seed {seed})"
    outcomes = {r for r in results if isinstance(r, tuple)}
    assert outcomes <= _EXPECTED_OUTCOMES | {(409, "not_queued")}, f"{outcomes} {context}"

    ids = set()
    async with cluster.database.sessionmaker() as session:
        ids = set(
            (
                await session.scalars(
                    select(Conversation.id).where(
                        Conversation.public_id.in_([c["conversation_id"] for c in chats])
                    )
                )
            ).all()
        )

    async def snapshot() -> tuple[dict[int, int], list[QueueEntry]]:
        async with cluster.database.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Conversation.id, Conversation.assigned_agent_id).where(
                        Conversation.id.in_(ids), Conversation.status == "assigned"
                    )
                )
            ).all()
            entries = list(
                (await session.scalars(select(QueueEntry).where(QueueEntry.conversation_id.in_(ids)))).all()
            )
        return {cid: agent for cid, agent in rows}, entries

    # The routers finish in the background (hand-offs arrive through the outbox): wait until every
    # slot is used, then check.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        assigned, entries = await snapshot()
        if len(assigned) >= ROUTED_AGENTS * ROUTED_CAPACITY or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.0)  # anything still in flight would show up now
    assigned, entries = await snapshot()

    async with cluster.database.sessionmaker() as session:
        audits = Counter(
            int(subject)
            for subject in (
                await session.scalars(
                    select(AuditLog.subject_id).where(AuditLog.action == "conversation.assign")
                )
            ).all()
            if int(subject) in ids
        )
        joined = Counter(
            (
                await session.scalars(
                    select(Message.conversation_id).where(
                        Message.conversation_id.in_(ids),
                        Message.sender_type == "system",
                        Message.payload["event"].as_string() == "agent_joined",
                    )
                )
            ).all()
        )
    load = Counter(assigned.values())
    assert max(load.values()) <= ROUTED_CAPACITY, f"over capacity: {dict(load)} {context}"
    assert len(assigned) == ROUTED_AGENTS * ROUTED_CAPACITY, f"slots unused: {dict(load)} {context}"
    assert {cid: n for cid, n in audits.items() if n != 1} == {}, f"assignments per conversation {context}"
    assert set(audits) == set(assigned), context
    assert all(joined[cid] == 1 for cid in assigned), f"'agent joined' messages {context}"
    # Every hand-off has one queue entry; it was answered by the agent who has the chat. (An agent
    # may also take a chat still with the bot: no wait, no entry.)
    async with cluster.database.sessionmaker() as session:
        queued_ids = set(
            (
                await session.scalars(
                    select(Conversation.id).where(
                        Conversation.id.in_(ids), Conversation.queued_at.is_not(None)
                    )
                )
            ).all()
        )
    assert sorted(e.conversation_id for e in entries) == sorted(queued_ids), context
    answered = {e.conversation_id: e.agent_id for e in entries if e.status == "answered"}
    assert answered == {cid: a for cid, a in assigned.items() if cid in queued_ids}, context
    assert {e.conversation_id for e in entries if e.status == "waiting"} == queued_ids - set(assigned), (
        context
    )
    assert {e.assignment for e in entries if e.status == "answered"} <= {"push", "pull"}, context
