"""The bot's turn in a conversation.

Until the trained NLU and declarative flows arrive (issue 3) the bot does three things: greets,
hands over to a person when asked (or when the customer reports fraud), and otherwise tells the
customer how to reach a person. Its replies are ordinary messages in the conversation.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, StoredMessage
from lingxi.core.actor import Actor

_HANDOFF = re.compile(r"人工|客服|真人|转接|投诉|human|agent|person|operator|complain", re.IGNORECASE)
_URGENT = re.compile(r"盗刷|诈骗|被骗|挂失|fraud|stolen|scam", re.IGNORECASE)

TEXTS = {
    "zh-CN": {
        "handoff": "好的，正在为您转接人工客服，请稍候。您可以继续描述问题，客服接入后会看到完整记录。",
        "urgent": "涉及资金安全，已为您优先转接人工客服，请稍候。如需立即冻结卡片，也可拨打 95xxx 热线。",
        "fallback": "您好，我是灵犀智能助手。请问您需要办理什么业务？如需人工服务，请回复“人工”。",
    },
    "en": {
        "handoff": "Sure, connecting you to an agent. Keep describing the issue; they will see it all.",
        "urgent": "This concerns the safety of your funds: you go first in line for an agent.",
        "fallback": "Hello, I am the Lingxi assistant. How can I help? Reply 'agent' to talk to a person.",
    },
}


async def do_bot_turn(
    *, session: AsyncSession, conversation: Conversation, message: StoredMessage
) -> list[StoredMessage]:
    """Answer a customer message while the conversation is with the bot; returns the bot's replies."""
    if conversation.status != "bot" or message.content_type != "text":
        return []
    texts = TEXTS["en" if conversation.language.startswith("en") else "zh-CN"]
    actor = Actor.system("bot")
    if _URGENT.search(message.content):
        reply_key, reason = "urgent", "urgent_keyword"
    elif _HANDOFF.search(message.content):
        reply_key, reason = "handoff", "customer_request"
    else:
        reply_key, reason = "fallback", ""
    reply = await conversations.do_add_bot_message(
        session=session, conversation=conversation, text=texts[reply_key]
    )
    if reason:
        await conversations.do_queue(session=session, conversation=conversation, reason=reason, actor=actor)
    return [reply]
