"""Handing a conversation from the bot to people, with what the bot learnt.

`conversation.context["handoff"]` carries, for the agent who accepts it: the reason, the intent and
its confidence, the slots the customer gave (masked displays only), the verification level reached,
a one-line summary in Chinese and English, and the last messages of the transcript. The conversation
gets the intent and a skill group (policy.yaml), and the bot's outcome becomes `handed_off`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.bot.policy import get_policy
from lingxi.bot.registry import intent_title
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.masking import mask_text
from lingxi.core.timeutil import utcnow

TRANSCRIPT_MESSAGES = 20
REASONS: dict[str, tuple[str, str]] = {
    "customer_request": ("客户要求人工", "customer asked for a person"),
    "not_understood": ("机器人多次未理解", "the bot did not understand twice"),
    "negative_sentiment": ("客户情绪激动", "customer is upset"),
    "complaint": ("投诉", "complaint"),
    "fraud": ("疑似诈骗/盗刷", "suspected fraud"),
    "cancel_transfer": ("撤销转账/转错账", "stop a transfer"),
    "atm_issue": ("ATM问题", "ATM problem"),
    "slot_failed": ("流程中多次未能识别客户回答", "the flow could not understand the answers"),
    "step_up_failed": ("身份验证未通过", "verification failed"),
    "card_stolen": ("卡片被盗，需核实交易", "stolen card, transactions to check"),
    "no_answer": ("知识库暂无答案", "no published answer"),
}


def summary(
    *, reason: str, intent: str | None, flow_title: str | None, slots: dict[str, str], level: str
) -> dict[str, str]:
    reason_zh, reason_en = REASONS.get(reason, (reason, reason))
    topic_zh = flow_title or (intent_title(intent, "zh-CN") if intent else "未识别")
    topic_en = intent_title(intent, "en") if intent else "not recognised"
    given = [f"{name}={value}" for name, value in slots.items() if value]
    given_zh = f"已提供：{'，'.join(given)}；" if given else ""
    given_en = f"given: {', '.join(given)}; " if given else ""
    zh = f"客户咨询「{topic_zh}」；{given_zh}身份验证{level}；转人工原因：{reason_zh}。"
    en = f"About '{topic_en}'; {given_en}verified {level}; handed over: {reason_en}."
    return {"zh-CN": zh, "en": en}


async def do_handoff(
    *,
    session: AsyncSession,
    conversation: Conversation,
    reason: str,
    intent: str | None,
    confidence: float | None,
    slots: dict[str, str],
    flow_title: str | None,
    tier: str | None,
    urgent: bool,
    language: str,
) -> None:
    """Queue the conversation for a person with the bot's context (no-op unless the bot has it)."""
    if conversation.status != "bot":
        return
    messages = await conversations.list_recent_messages(
        session=session, conversation_id=conversation.id, limit=TRANSCRIPT_MESSAGES
    )
    policy = get_policy()
    handoff: dict[str, Any] = {
        "reason": reason,
        "intent": intent,
        "intent_title": {lang: intent_title(intent, lang) for lang in ("zh-CN", "en")} if intent else {},
        "confidence": round(confidence, 3) if confidence is not None else None,
        "slots": slots,
        "verification_level": conversation.verification_level,
        "summary": summary(
            reason=reason,
            intent=intent,
            flow_title=flow_title,
            slots=slots,
            level=conversation.verification_level,
        ),
        "transcript": [
            {"sender": m.sender_type, "text": mask_text(m.content) or "", "at": m.created_at.isoformat()}
            for m in messages
        ],
        "urgent": urgent,
        "tier": tier,
        "at": utcnow().isoformat(),
    }
    conversation.context = {**conversation.context, "handoff": handoff}
    if intent:
        conversation.intent = intent
    conversation.skill_group = policy.skill_group(intent=intent, tier=tier, language=language, urgent=urgent)
    conversation.bot_outcome = "handed_off"
    await conversations.do_queue(
        session=session, conversation=conversation, reason=reason, actor=Actor.system("bot")
    )
