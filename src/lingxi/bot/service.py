"""The bot's turn in a conversation: the entry point the channels call.

The dialogue (lingxi.bot.dialogue) understands the message with the trained intent model, runs the
declarative flows (lingxi/bot/flows/*.yaml), answers from the knowledge base and hands over to people
by policy (policy.yaml). Replies are ordinary bot messages in the conversation: text for every
channel, with quick replies and cards in the payload for the H5 page.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot import dialogue
from lingxi.bot.policy import get_policy
from lingxi.bot.registry import get_flows, get_intent_model
from lingxi.bot.replies import Reply
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, StoredMessage
from lingxi.core.actor import Actor
from lingxi.core.timeutil import utcnow

REDACTED_CODE = "******"


def warm_up() -> None:
    """Load and validate everything the bot needs (raises on a broken flow or policy file)."""
    get_flows()
    get_policy()
    get_intent_model().predict("你好")


def redact_inbound(conversation: Conversation, text: str) -> str:
    """What to store of a customer message: a one-time code the bot is waiting for is never kept."""
    if conversation.status == "bot" and dialogue.awaits_code(conversation) and dialogue.CODE.match(text):
        return REDACTED_CODE
    return text


async def do_bot_turn(
    *, session: AsyncSession, conversation: Conversation, message: StoredMessage, text: str | None = None
) -> list[StoredMessage]:
    """Answer a customer message while the conversation is with the bot; returns the stored replies.

    `text` is the message as the customer sent it when the stored content was redacted.
    """
    if conversation.status != "bot" or message.content_type != "text":
        return []
    replies = await dialogue.run_turn(
        session=session, conversation=conversation, text=text or message.content
    )
    return await _store(session, conversation, replies)


async def do_request_handoff(
    *, session: AsyncSession, conversation: Conversation, reason: str
) -> list[StoredMessage]:
    """Hand over to people on the customer's request made outside a message (e.g. a menu click)."""
    if conversation.status != "bot":
        return []
    replies = await dialogue.run_handoff(session=session, conversation=conversation, reason=reason)
    return await _store(session, conversation, replies)


async def do_resume_after_verification(
    *, session: AsyncSession, conversation: Conversation
) -> list[StoredMessage]:
    """A step-up passed outside the chat (app biometric): the waiting flow goes on by itself."""
    if conversation.status != "bot":
        return []
    replies = await dialogue.run_resume(session=session, conversation=conversation)
    return await _store(session, conversation, replies)


IDLE_BATCH = 500


async def do_close_idle_conversations(*, session: AsyncSession, idle_minutes: int) -> int:
    """Close conversations nobody has written in for `idle_minutes` while with the bot: one indexed
    query (status, last_message_at) per run. Returns how many were closed."""
    before = utcnow() - timedelta(minutes=idle_minutes)
    idle = await conversations.list_idle_bot_conversations(session=session, before=before, limit=IDLE_BATCH)
    for conversation in idle:
        if conversation.bot_outcome is None:
            conversation.bot_outcome = "abandoned"
        await conversations.do_close(
            session=session, conversation=conversation, outcome="idle_timeout", actor=Actor.system("bot")
        )
    return len(idle)


async def _store(
    session: AsyncSession, conversation: Conversation, replies: list[Reply]
) -> list[StoredMessage]:
    stored = []
    for reply in replies:
        if not reply.text:
            continue
        stored.append(
            await conversations.do_add_bot_message(
                session=session, conversation=conversation, text=reply.text, payload=reply.payload or None
            )
        )
    return stored
