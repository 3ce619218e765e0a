"""The bot's event handlers: a flow waiting for a step-up goes on when the customer verifies elsewhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot import service
from lingxi.conversations import service as conversations
from lingxi.core.events import get_dispatcher


async def on_verified(session: AsyncSession, payload: dict[str, Any]) -> None:
    conversation_id = payload.get("conversation_id")
    if conversation_id is None:
        return
    conversation = await conversations.get_conversation(session=session, conversation_id=int(conversation_id))
    if conversation is None or conversation.customer_id != payload.get("customer_id"):
        return
    await service.do_resume_after_verification(session=session, conversation=conversation)


get_dispatcher().subscribe("identity.verified")(on_verified)
