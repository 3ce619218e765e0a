"""Event handlers that carry outgoing messages of WeChat conversations to the WeChat user.

Registered with the outbox dispatcher on import (listed in `lingxi.handlers.HANDLER_MODULES`):

- `wechat.deliver` {"message_ids": [...]}: answers that missed the passive-reply window.
- `conversation.message_added` {"conversation_id", "message_id", "channel", "sender_type"}: any
  agent, bot or system message stored in a WeChat conversation (agent replies, "客服已接入", closing
  notices) that did not go out as a passive reply.

Both end in `do_deliver_message`, which is idempotent: the message's payload records
`wechat_delivery` = passive | pending | sent, and a message already "passive" or "sent" is skipped. With
the demo adapter the outbox record and the "sent" mark commit together (exactly once); a real adapter
sends before the commit, so a crash in between can repeat a message (at least once).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.channels.wechat.adapters import get_cs_sender, mask_openid
from lingxi.channels.wechat.service import CHANNEL, DELIVER_TOPIC, DELIVERY_KEY, do_mark_delivery
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Message
from lingxi.core.events import get_dispatcher

log = logging.getLogger("lingxi.channels.wechat.delivery")

OUTGOING = ("agent", "bot", "system")


async def do_deliver_message(*, session: AsyncSession, message_id: int) -> bool:
    """Send one outgoing message of a WeChat conversation by customer-service message; True if sent now."""
    stmt = select(Message).where(Message.id == message_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # two deliveries of the same message serialise here
    message = await session.scalar(stmt)
    if message is None or message.channel != CHANNEL or message.sender_type not in OUTGOING:
        return False
    if message.content_type == "event" or not message.content.strip():
        return False
    if (message.payload or {}).get(DELIVERY_KEY) in ("passive", "sent"):
        return False
    conversation = await conversations.get_conversation(
        session=session, conversation_id=message.conversation_id
    )
    openid = conversation.channel_user_id if conversation is not None else None
    if not openid:
        log.warning("message %s of a WeChat conversation has no openid to send to", message_id)
        return False
    await get_cs_sender().send_text(
        session=session,
        openid=openid,
        text=message.content,
        meta={
            "message_id": message.id,
            "conversation_id": conversation.public_id if conversation else None,
            "sender_type": message.sender_type,
        },
    )
    await do_mark_delivery(session=session, messages=[message], state="sent")
    log.info("message %s sent to WeChat user %s by customer-service message", message_id, mask_openid(openid))
    return True


async def on_deliver(session: AsyncSession, payload: dict[str, Any]) -> None:
    for message_id in payload.get("message_ids") or []:
        await do_deliver_message(session=session, message_id=int(message_id))


async def on_message_added(session: AsyncSession, payload: dict[str, Any]) -> None:
    if payload.get("channel") != CHANNEL or payload.get("sender_type") not in OUTGOING:
        return
    await do_deliver_message(session=session, message_id=int(payload["message_id"]))


get_dispatcher().subscribe(DELIVER_TOPIC)(on_deliver)
get_dispatcher().subscribe("conversation.message_added")(on_message_added)
