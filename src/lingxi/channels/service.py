"""What every channel does with a customer's message: store it once, then let the bot answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot import service as bot
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, StoredMessage


@dataclass(slots=True)
class Inbound:
    conversation: Conversation
    text: str
    client_msg_id: str | None
    sender_name: str | None = None


async def do_receive_many(
    *, session: AsyncSession, items: Sequence[Inbound]
) -> list[tuple[StoredMessage, list[StoredMessage]]]:
    """Store customer messages (idempotent on client_msg_id), then give the bot its turn on each new one.

    Returns (message, bot replies) per item; a repeated delivery gets the stored message and no replies.
    """
    stored = await conversations.do_add_messages(
        session=session,
        drafts=[
            conversations.MessageDraft(
                conversation=item.conversation,
                sender_type="customer",
                content=bot.redact_inbound(item.conversation, item.text),
                client_msg_id=item.client_msg_id,
                sender_name=item.sender_name,
            )
            for item in items
        ],
    )
    results = []
    for item, (message, created) in zip(items, stored, strict=True):
        replies = (
            await bot.do_bot_turn(
                session=session, conversation=item.conversation, message=message, text=item.text
            )
            if created
            else []
        )
        results.append((message, replies))
    return results


async def do_receive_from_customer(
    *,
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    client_msg_id: str | None,
    sender_name: str | None = None,
) -> tuple[StoredMessage, list[StoredMessage]]:
    """One customer message in the caller's transaction (see do_receive_many)."""
    [result] = await do_receive_many(
        session=session,
        items=[
            Inbound(
                conversation=conversation, text=text, client_msg_id=client_msg_id, sender_name=sender_name
            )
        ],
    )
    return result
