"""The queue through the real API and router: order, push assignment, capacity, strategies, sticky
routing, overflow, callbacks, abandons and the customer's place in the queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lingxi.agents import service as agents
from lingxi.audit.models import AuditLog
from lingxi.auth.models import StaffUser
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, Message
from lingxi.core.actor import Actor
from lingxi.core.db import commit
from lingxi.core.timeutil import utcnow
from lingxi.identity.app_tokens import issue_demo_app_token
from lingxi.routing import service
from lingxi.routing.models import CallbackRequest
from lingxi.routing.router import get_router
from lingxi.tickets import service as tickets
from tests.chat_helpers import bearer, open_chat, say
from tests.routing_fixtures import (
    age_entry,
    assigned_to,
    conversation_of,
    entry_of,
    set_idle_since,
    set_presence,
    settle,
)


async def test_vip_and_urgent_first_then_arrival(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    first = await queue_chat(tier="standard")
    second = await queue_chat(tier="standard")
    vip = await queue_chat(tier="vip")
    urgent = await queue_chat(tier="standard", urgent=True)

    positions = {}
    for name, waiting in {"first": first, "second": second, "vip": vip, "urgent": urgent}.items():
        r = await api.get("/api/chat/queue", headers=waiting.headers)
        assert r.status_code == 200, r.text
        positions[name] = r.json()["queue_position"]
        assert r.json()["status"] == "queued" and r.json()["skill_group"] == "credit_card"
    assert positions == {"urgent": 1, "vip": 2, "first": 3, "second": 4}

    # One agent with one slot takes them one by one in that order (no wrap-up time).
    agent = await make_agent("credit_card", capacity=1)
    served = []
    for _ in range(4):
        await settle()
        current = [w for w in (first, second, vip, urgent) if await assigned_to(db, w) == agent.id]
        mine = [w for w in current if (await conversation_of(db, w)).status == "assigned"]
        assert len(mine) == 1
        served.append(mine[0])
        r = await api.post(f"/api/agent/conversations/{mine[0].public_id}/close", headers=agent.headers)
        assert r.status_code == 200, r.text
    assert served == [urgent, vip, first, second]
    entry = await entry_of(db, urgent)
    assert (entry.status, entry.assignment, entry.agent_id) == ("answered", "push", agent.id)


async def test_ageing_lets_a_long_wait_go_before_a_new_vip(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    patient = await queue_chat(tier="standard", waited=400)  # 400 s > a VIP's 300 s head start
    vip = await queue_chat(tier="vip")
    r = await api.get("/api/chat/queue", headers=patient.headers)
    assert r.json()["queue_position"] == 1
    agent = await make_agent("credit_card", capacity=1)
    await settle()
    assert await assigned_to(db, patient) == agent.id
    assert await assigned_to(db, vip) is None


async def test_push_respects_total_and_channel_capacity(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    chats = [await queue_chat() for _ in range(4)]
    agent = await make_agent("credit_card", capacity=3, presence=None)
    async with db.sessionmaker() as s:
        user = await s.get(StaffUser, agent.id)
        await agents.do_update_routing_profile(
            session=s,
            actor=Actor.system("test"),
            agent=user,
            channel_capacity={"webchat": 2},
            wrap_up_seconds=0,
        )
        await commit(s)
    await set_presence(db, agent, "online")
    await settle()
    mine = [c for c in chats if await assigned_to(db, c) == agent.id]
    assert len(mine) == 2  # the webchat cap (2) inside the total (3)

    r = await api.get("/api/agent/presence", headers=agent.headers)
    body = r.json()
    assert (
        body["load"] == 2
        and body["channel_load"] == {"webchat": 2}
        and body["channel_capacity"] == {"webchat": 2}
    )

    # A pull beyond the channel cap is refused too.
    unassigned = [c for c in chats if await assigned_to(db, c) is None]
    waiting = unassigned[0]
    r = await api.post(f"/api/agent/conversations/{waiting.public_id}/accept", headers=agent.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "agent_at_capacity"


async def test_agents_who_are_not_online_get_nothing_pushed(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card")
    offline = await make_agent("credit_card", presence=None)  # never signed in to the queue
    assert (await api.get("/api/agent/presence", headers=offline.headers)).json()["presence"] == "offline"
    away = await make_agent("credit_card", presence=None)
    await set_presence(db, away, "away", "lunch")
    busy = await make_agent("credit_card", presence=None)
    await set_presence(db, busy, "busy", "back_office")
    waiting = await queue_chat()
    assert await assigned_to(db, waiting) is None
    # … but they may still take one themselves (pull).
    r = await api.post(f"/api/agent/conversations/{waiting.public_id}/accept", headers=busy.headers)
    assert r.status_code == 200
    entry = await entry_of(db, waiting)
    assert (entry.status, entry.assignment, entry.agent_id) == ("answered", "pull", busy.id)


async def test_longest_idle_strategy(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card", strategy="longest_idle")
    fresh = await make_agent("credit_card")
    idle = await make_agent("credit_card")
    await set_idle_since(db, idle, utcnow() - timedelta(minutes=10))
    waiting = await queue_chat()
    assert await assigned_to(db, waiting) == idle.id
    # Having received a chat, the idle agent's clock restarted: the next goes to the other one.
    second = await queue_chat()
    assert await assigned_to(db, second) == fresh.id


async def test_least_busy_strategy(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card", strategy="least_busy")
    big = await make_agent("credit_card", capacity=5)
    small = await make_agent("credit_card", capacity=2)
    await set_idle_since(db, small, utcnow() - timedelta(hours=1))
    owners = [await assigned_to(db, await queue_chat()) for _ in range(4)]
    # shares of capacity: small 0/2 → big 0/5 → big 1/5 (< small's 1/2) → big 2/5 (< 1/2)
    assert owners == [small.id, big.id, big.id, big.id]


async def test_round_robin_strategy(api, db, make_group, make_agent, queue_chat):
    await make_group("credit_card", strategy="round_robin")
    team = [await make_agent("credit_card", capacity=5) for _ in range(3)]
    owners = [await assigned_to(db, await queue_chat()) for _ in range(5)]
    ids = sorted(a.id for a in team)
    assert owners == [ids[0], ids[1], ids[2], ids[0], ids[1]]


async def test_sticky_last_agent_preferred_when_free(
    api, db, make_group, make_agent, make_customer, queue_chat
):
    await make_group("credit_card")
    customer = await make_customer(tier="gold", gender="F")
    first_agent = await make_agent("credit_card")
    earlier = await queue_chat(customer=customer)
    assert await assigned_to(db, earlier) == first_agent.id
    r = await api.post(f"/api/agent/conversations/{earlier.public_id}/close", headers=first_agent.headers)
    assert r.status_code == 200

    other = await make_agent("credit_card")
    await set_idle_since(db, other, utcnow() - timedelta(hours=2))  # longest idle by far
    again = await queue_chat(customer=customer)
    assert await assigned_to(db, again) == first_agent.id
    entry = await entry_of(db, again)
    assert (entry.preferred_agent_id, entry.assignment) == (first_agent.id, "sticky")

    # When the last agent has no room, the strategy decides.
    await set_presence(db, first_agent, "away", "lunch")
    r = await api.post(f"/api/agent/conversations/{again.public_id}/close", headers=first_agent.headers)
    third = await queue_chat(customer=customer)
    assert await assigned_to(db, third) == other.id


async def test_overflow_after_the_maximum_wait(api, db, make_group, make_agent, queue_chat):
    await make_group("general")
    await make_group("credit_card", max_wait_seconds=60, overflow_group="general")
    helper = await make_agent("general")
    waiting = await queue_chat("credit_card")
    assert await assigned_to(db, waiting) is None  # nobody in credit_card

    async with db.sessionmaker() as s:
        assert await service.do_process_timeouts(session=s, now=utcnow() + timedelta(seconds=30)) == set()
        moved = await service.do_process_timeouts(session=s, now=utcnow() + timedelta(seconds=61))
        await commit(s)
    assert moved == {"general"}
    get_router().request(moved)
    await settle()
    entry = await entry_of(db, waiting)
    assert (entry.skill_group, entry.original_group, entry.overflow_count) == ("general", "credit_card", 1)
    assert entry.status == "answered" and entry.agent_id == helper.id
    assert (await conversation_of(db, waiting)).skill_group == "general"
    async with db.sessionmaker() as s:
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "queue.overflow"))
        assert audit is not None and audit.after["skill_group"] == "general"


async def test_after_the_maximum_wait_a_callback_is_offered(api, db, make_group, queue_chat, make_staff):
    await make_group("credit_card", max_wait_seconds=60, timeout_action="callback")
    waiting = await queue_chat()
    async with db.sessionmaker() as s:
        await service.do_process_timeouts(session=s, now=utcnow() + timedelta(seconds=61))
        await service.do_process_timeouts(session=s, now=utcnow() + timedelta(seconds=120))  # offered once
        await commit(s)
    r = await api.get("/api/chat/messages", headers=waiting.headers)
    offers = [m for m in r.json()["items"] if (m["payload"] or {}).get("event") == "queue_offer"]
    assert len(offers) == 1 and "预约回电" in offers[0]["content"]
    assert (await api.get("/api/chat/queue", headers=waiting.headers)).json()["callback_offered"] is True

    r = await api.post("/api/chat/queue/callback", json={"kind": "message"}, headers=waiting.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "message_required"
    r = await api.post("/api/chat/queue/callback", json={"kind": "callback"}, headers=waiting.headers)
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["phone"].count("*") == 4
    # A known customer's call back becomes a work order from the conversation.
    assert request["status"] == "ticketed" and request["ticket_reference"]
    async with db.sessionmaker() as s:
        ticket = await tickets.get_ticket_by_no(session=s, ticket_no=request["ticket_reference"])
        assert ticket is not None and ticket.conversation_id == waiting.conversation_id
        assert (ticket.type, ticket.category, ticket.source) == ("inquiry", "bill_inquiry", "conversation")
    conversation = await conversation_of(db, waiting)
    assert (conversation.status, conversation.outcome) == ("closed", "callback_requested")
    assert (await entry_of(db, waiting)).status == "callback"
    r = await api.post("/api/chat/queue/callback", json={"kind": "callback"}, headers=waiting.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_queued"

    _, supervisor = await make_staff("supervisor")
    board = (await api.get("/api/supervisor/wallboard", headers=bearer(supervisor))).json()
    [callback] = board["callbacks"]
    assert callback["kind"] == "callback" and "****" in callback["phone"]
    assert callback["ticket_reference"] == request["ticket_reference"]
    assert board["today"]["callbacks"] == 1
    r = await api.post(f"/api/supervisor/callbacks/{callback['id']}/done", headers=bearer(supervisor))
    assert r.status_code == 200 and r.json()["status"] == "done"
    async with db.sessionmaker() as s:
        assert (await s.scalar(select(CallbackRequest))).status == "done"


async def test_visitors_leave_a_message_or_give_a_phone(api, db, make_group):
    await make_group("credit_card")

    chat = await open_chat(api, visitor_id="v-" + "a1b2c3d4" * 4)
    async with db.sessionmaker() as s:
        conversation = await conversations.access_conversation_by_public_id(
            session=s, public_id=chat["conversation_id"]
        )
        conversation.skill_group = "credit_card"
        await conversations.do_queue(
            session=s, conversation=conversation, reason="x", actor=Actor.system("t")
        )
        await commit(s)
    await settle()
    headers = bearer(chat["session_token"])
    r = await api.post("/api/chat/queue/callback", json={"kind": "callback"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "phone_required"
    r = await api.post(
        "/api/chat/queue/callback", json={"kind": "callback", "phone": "12345"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_phone"
    r = await api.post(
        "/api/chat/queue/callback",
        json={"kind": "message", "message": "想咨询房贷提前还款的违约金，请回电 138 0013 8000"},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["kind"] == "message"
    assert r.json()["status"] == "pending" and r.json()["ticket_reference"] is None  # no customer: no order


async def test_leaving_the_queue_is_an_abandon_short_or_not(api, db, make_group, make_staff, queue_chat):
    await make_group("credit_card", service_level_seconds=20)
    quick = await queue_chat()
    slow = await queue_chat()
    await age_entry(db, slow, 45)
    for waiting in (quick, slow):
        r = await api.post("/api/chat/queue/leave", headers=waiting.headers)
        assert r.status_code == 200 and r.json()["status"] == "closed"
    assert (await entry_of(db, quick)).status == "abandoned"
    assert (await entry_of(db, slow)).wait_seconds >= 45
    r = await api.post("/api/chat/queue/leave", headers=quick.headers)
    assert r.status_code == 409

    _, supervisor = await make_staff("supervisor")
    board = (await api.get("/api/supervisor/wallboard", headers=bearer(supervisor))).json()
    [group] = [g for g in board["groups"] if g["code"] == "credit_card"]
    assert group["today"]["short_abandoned"] == 1 and group["today"]["abandoned"] == 1
    assert group["today"]["service_level"] == 0.0  # one long abandon, nothing answered


async def test_service_level_today_on_the_wallboard(api, db, make_group, make_agent, make_staff, queue_chat):
    await make_group("credit_card", service_level_seconds=20)
    fast = await queue_chat()
    slow = await queue_chat()
    gone = await queue_chat()
    await age_entry(db, fast, 8)
    await age_entry(db, slow, 50)
    await age_entry(db, gone, 30)
    agent = await make_agent("credit_card", presence=None, capacity=5)
    for waiting in (fast, slow):
        r = await api.post(f"/api/agent/conversations/{waiting.public_id}/accept", headers=agent.headers)
        assert r.status_code == 200
    await api.post("/api/chat/queue/leave", headers=gone.headers)
    waiting_now = await queue_chat()
    await age_entry(db, waiting_now, 70)

    _, supervisor = await make_staff("supervisor")
    board = (await api.get("/api/supervisor/wallboard", headers=bearer(supervisor))).json()
    [group] = [g for g in board["groups"] if g["code"] == "credit_card"]
    today = group["today"]
    assert (today["answered"], today["answered_in_time"], today["abandoned"]) == (2, 1, 1)
    assert today["service_level"] == 1 / 3
    assert 29 <= today["average_answer_seconds"] <= 31  # (8 + 50) / 2
    assert group["waiting"] == 1 and group["longest_wait_seconds"] >= 70
    assert board["waiting"] == 1 and board["today"]["service_level"] == 1 / 3


async def test_a_handoff_through_the_bot_joins_the_queue(api, db, make_group, make_agent, make_customer):
    await make_group("general")
    await make_group("vip")

    customer = await make_customer(tier="vip", name="赵建国", gender="M")
    chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))
    await say(api, chat, "转人工")
    await settle()
    r = await api.get("/api/chat/queue", headers=bearer(chat["session_token"]))
    body = r.json()
    assert body["status"] == "queued" and body["skill_group"] == "vip" and body["queue_position"] == 1
    assert body["estimated_wait_seconds"] is None  # nobody online in the VIP desk: no guess
    # The customer's page was told its place with the status frame.
    agent = await make_agent("vip")
    await settle()
    async with db.sessionmaker() as s:
        conversation = await s.scalar(
            select(Conversation).where(Conversation.public_id == chat["conversation_id"])
        )
        assert conversation.assigned_agent_id == agent.id
        entry = await service.get_entry(session=s, conversation=conversation)
        assert entry.tier == "vip" and entry.points == 30 and entry.announced_position == 1
        joined = await s.scalar(
            select(Message).where(Message.conversation_id == conversation.id, Message.sender_type == "system")
        )
        assert agent.user.display_name in joined.content
