"""Routing's outbox handlers: queue what is handed over, route when capacity frees up.

- `conversation.queued` {conversation_id}: the wait gets its queue entry (the customer is told their
  place at once) and the group is routed;
- `conversation.closed` {conversation_id}: a wait that ends without an agent is an abandon; the
  agent who had the chat may take the next one;
- `agent.available` {agent_id}: an agent came online, finished a wrap-up or has more room: route
  their groups.

Handlers are idempotent (the outbox delivers at least once). They commit with `core.db.commit` so
the realtime notifications registered in the transaction go out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents import service as agents
from lingxi.conversations import service as conversations
from lingxi.core.db import commit
from lingxi.core.events import get_dispatcher
from lingxi.core.timeutil import utcnow
from lingxi.routing import service
from lingxi.routing.router import get_router


async def on_queued(session: AsyncSession, payload: dict[str, Any]) -> None:
    conversation = await conversations.get_conversation(
        session=session, conversation_id=int(payload["conversation_id"])
    )
    if conversation is None or conversation.status != "queued":
        return
    entry = await service.do_ensure_entry(session=session, conversation=conversation)
    if entry is None or entry.status != "waiting":
        return
    await service.do_announce_entry(session=session, entry=entry)
    await commit(session)
    get_router().request([entry.skill_group])


async def on_closed(session: AsyncSession, payload: dict[str, Any]) -> None:
    conversation = await conversations.get_conversation(
        session=session, conversation_id=int(payload["conversation_id"])
    )
    if conversation is None:
        return
    entry = await service.get_entry(session=session, conversation=conversation)
    if entry is not None and entry.status == "waiting" and conversation.status == "closed":
        service.end_wait(entry, "abandoned", conversation.closed_at or utcnow())
        await commit(session)
    if conversation.assigned_agent_id is not None:
        get_router().request(
            await agents.list_agent_group_codes(session=session, agent_id=conversation.assigned_agent_id)
        )


async def on_agent_available(session: AsyncSession, payload: dict[str, Any]) -> None:
    get_router().request(
        await agents.list_agent_group_codes(session=session, agent_id=int(payload["agent_id"]))
    )


async def on_routing_requested(session: AsyncSession, payload: dict[str, Any]) -> None:
    get_router().request(str(g) for g in payload.get("groups") or [])


get_dispatcher().subscribe("conversation.queued")(on_queued)
get_dispatcher().subscribe("conversation.closed")(on_closed)
get_dispatcher().subscribe(agents.AGENT_AVAILABLE)(on_agent_available)
get_dispatcher().subscribe(service.ROUTING_REQUESTED)(on_routing_requested)
