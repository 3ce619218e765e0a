"""Agent assist: what the agent should know about the open chat, on one screen.

- key facts: the entities of the customer's messages (card tails, amounts, dates, masked numbers,
  account kinds, the knowledge base's products) by `lingxi.nlu.entities.extract_entities`, with the
  bot's intent;
- suggested answers from the knowledge base for the latest customer message (`suggestions.py`), the
  entries about the products it names first;
- similar past conversations: closed chats on the same topic whose customer wording is closest
  (cosine of character 2–3-gram TF-IDF vectors), with how they were wrapped up;
- compliance hints: verify before disclosing account data (the intent's level in the taxonomy
  against the conversation's verification level), full card/ID numbers sent in the chat, never ask
  for passwords or codes, the fraud protocol, complaint handling.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents.models import WrapUp
from lingxi.agents.suggestions import SuggestedAnswer, suggest_answers
from lingxi.conversations.models import Conversation, Message
from lingxi.core.masking import mask_card, mask_id_number, mask_phone, mask_text
from lingxi.core.timeutil import utcnow
from lingxi.knowledge import service as knowledge
from lingxi.nlu.entities import Entity, Money, extract_entities
from lingxi.nlu.text import char_ngrams, normalize

LEVELS = {"L0": 0, "L1": 1, "L2": 2}
FACT_MESSAGES = 50
SIMILAR_CANDIDATES = 200
SIMILAR_DAYS = 90
SIMILAR_MIN_SCORE = 0.15
FRAUD_INTENTS = ("fraud_report", "card_loss_report", "cancel_transfer", "account_frozen")
_SECRETS = re.compile(
    r"密码|验证码|动态码|校验码|cvv|cvn|安全码|password|verification code|one-time code", re.I
)


@dataclass(frozen=True, slots=True)
class Fact:
    type: str  # card_tail | amount | date | phone | card_number | id_number | account_ref | product | intent
    value: str  # for the screen: masked where it is personal data
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Hint:
    code: str
    severity: str  # info | warning | danger
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class SimilarConversation:
    conversation_id: str
    channel: str
    intent: str | None
    closed_at: str
    excerpt: str  # the customer's first words, masked
    wrap_up_code: str | None
    same_customer: bool
    score: float


@dataclass(slots=True)
class Assist:
    facts: list[Fact] = field(default_factory=list)
    suggestions: list[SuggestedAnswer] = field(default_factory=list)
    similar: list[SimilarConversation] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)


# --- key facts ---------------------------------------------------------------------------------------


def _display(entity: Entity) -> str:
    value = entity.value
    if isinstance(value, Money):
        amount = value.amount.quantize(Decimal("0.01")) if value.amount % 1 else value.amount
        return f"{amount:,} {value.currency}"
    if isinstance(value, date):
        return value.isoformat()
    if entity.type == "phone":
        return mask_phone(value) or ""
    if entity.type == "card_number":
        return mask_card(value) or ""
    if entity.type == "id_number":
        return mask_id_number(value) or ""
    return str(value)


def key_facts(
    messages: Sequence[Message], *, today: date | None = None, products: Mapping[str, str] | None = None
) -> list[Fact]:
    """Entities of the customer's text messages, newest mention of each value first, masked. `products`
    is the knowledge base's catalogue (name or alias → product): named products become facts too."""
    seen: set[tuple[str, str]] = set()
    facts: list[Fact] = []
    for message in reversed(messages):
        if message.sender_type != "customer" or message.content_type != "text":
            continue
        for entity in extract_entities(message.content, today=today, products=products or {}):
            fact = Fact(type=entity.type, value=_display(entity), message_id=message.id)
            if (fact.type, fact.value) not in seen:
                seen.add((fact.type, fact.value))
                facts.append(fact)
    return facts


def latest_card_tail(facts: Sequence[Fact], handoff_slots: dict[str, str]) -> str | None:
    for fact in facts:
        if fact.type == "card_tail":
            return fact.value
        if fact.type == "card_number":
            return fact.value[-4:]
    for value in handoff_slots.values():
        match = re.search(r"尾号(\d{4})|ending (?:in )?(\d{4})", value)
        if match:
            return match.group(1) or match.group(2)
    return None


# --- compliance hints --------------------------------------------------------------------------------


def intent_level(intent: str | None) -> str | None:
    """The verification level the intent taxonomy asks for before account data is disclosed."""
    if not intent:
        return None
    # The taxonomy is the shared contract of intents (shared/intents.yaml); the bot ships the copy.
    from lingxi.bot.registry import standard_intents

    info = standard_intents().get(intent)
    return str(info["level"]) if info and info.get("level") in LEVELS else None


def compliance_hints(
    *,
    conversation: Conversation,
    facts: Sequence[Fact],
    agent_texts: Sequence[str],
    intent_title: str | None,
) -> list[Hint]:
    hints: list[Hint] = []
    level = conversation.verification_level
    needed = intent_level(conversation.intent)
    topic_zh = f"「{intent_title}」" if intent_title else "该业务"
    if conversation.customer_id is None:
        hints.append(
            Hint(
                "anonymous_visitor",
                "danger",
                "访客未识别身份：不得透露任何账户信息，请引导客户登录手机银行后再咨询。",
                "Unidentified visitor: disclose no account data; ask the customer to log in to the app.",
            )
        )
    elif needed is not None and LEVELS[level] < LEVELS[needed]:
        hints.append(
            Hint(
                "verify_before_disclosure",
                "warning",
                f"客户当前身份验证为{level}，{topic_zh}需{needed}；完成验证前请勿披露账户信息。",
                f"The customer is verified {level}; this topic needs {needed}. Disclose no account data"
                " before the verification.",
            )
        )
    elif needed is None and LEVELS[level] < LEVELS["L2"]:
        hints.append(
            Hint(
                "verify_before_disclosure",
                "info",
                f"客户当前身份验证为{level}：查询余额、交易明细等账户信息前请确认验证等级满足要求。",
                f"The customer is verified {level}: check the level required before disclosing balances"
                " or transactions.",
            )
        )
    if any(f.type in ("card_number", "id_number") for f in facts):
        hints.append(
            Hint(
                "full_number_in_chat",
                "warning",
                "客户在对话中发送了完整卡号或证件号：请勿复述，并提醒客户不要在聊天中发送完整号码。",
                "The customer sent a full card or ID number: do not repeat it, and ask them not to send"
                " full numbers in chat.",
            )
        )
    if any(_SECRETS.search(text) for text in agent_texts):
        hints.append(
            Hint(
                "never_ask_secrets",
                "danger",
                "您的回复提到了密码或验证码：银行工作人员绝不索取客户的密码、短信验证码或CVV。",
                "Your reply mentions a password or code: bank staff never ask for passwords, one-time"
                " codes or CVVs.",
            )
        )
    handoff = conversation.context.get("handoff") or {}
    if conversation.intent in FRAUD_INTENTS or handoff.get("reason") in ("fraud", "card_stolen"):
        hints.append(
            Hint(
                "fraud_protocol",
                "danger",
                "涉及资金安全：先协助挂失或止付，提醒客户不要转账、不要透露验证码，核实交易前完成L2验证。",
                "Money at risk: block the card or account first, tell the customer not to transfer or share"
                " codes, verify L2 before reviewing transactions.",
            )
        )
    if conversation.intent == "complaint" or handoff.get("reason") == "complaint":
        hints.append(
            Hint(
                "complaint_handling",
                "info",
                "投诉：完整记录诉求和客户期望，答复时限按投诉处理规定，结束时选择「投诉已受理」。",
                "Complaint: record the request and what the customer expects, promise only the regulated"
                " deadlines, wrap up as 'Complaint recorded'.",
            )
        )
    return hints


# --- similar conversations ---------------------------------------------------------------------------


def _grams(text: str) -> Counter[str]:
    return Counter(g for g in char_ngrams(normalize(text)) if len(g) >= 2)


def rank_similar(
    query: str, documents: dict[int, str], *, limit: int = 3, min_score: float = SIMILAR_MIN_SCORE
) -> list[tuple[int, float]]:
    """Documents by cosine similarity of TF-IDF weighted character n-grams to the query, best first."""
    query_grams = _grams(query)
    if not query_grams or not documents:
        return []
    doc_grams = {doc_id: _grams(text) for doc_id, text in documents.items()}
    df: Counter[str] = Counter()
    for grams in doc_grams.values():
        df.update(grams.keys())
    n = len(doc_grams) + 1

    def weights(grams: Counter[str]) -> dict[str, float]:
        return {g: (1 + math.log(c)) * math.log(n / (1 + df[g]) + 1) for g, c in grams.items()}

    q = weights(query_grams)
    q_norm = math.sqrt(sum(v * v for v in q.values()))
    scored = []
    for doc_id, grams in doc_grams.items():
        d = weights(grams)
        d_norm = math.sqrt(sum(v * v for v in d.values()))
        if not d_norm:
            continue
        score = sum(w * d[g] for g, w in q.items() if g in d) / (q_norm * d_norm)
        if score >= min_score:
            scored.append((doc_id, round(score, 3)))
    scored.sort(key=lambda item: (-item[1], -item[0]))
    return scored[:limit]


async def similar_conversations(
    *, session: AsyncSession, conversation: Conversation, customer_text: str, limit: int = 3
) -> list[SimilarConversation]:
    if not customer_text.strip():
        return []
    stmt = (
        select(Conversation)
        .where(
            Conversation.id != conversation.id,
            Conversation.status == "closed",
            Conversation.assigned_agent_id.is_not(None),
            Conversation.closed_at >= utcnow() - timedelta(days=SIMILAR_DAYS),
        )
        .order_by(Conversation.closed_at.desc())
        .limit(SIMILAR_CANDIDATES)
    )
    topic = []
    if conversation.intent:
        topic.append(Conversation.intent == conversation.intent)
    if conversation.skill_group:
        topic.append(Conversation.skill_group == conversation.skill_group)
    if topic:
        stmt = stmt.where(or_(*topic))
    candidates = {c.id: c for c in (await session.scalars(stmt)).all()}
    if not candidates:
        return []
    rows = await session.execute(
        select(Message.conversation_id, Message.content)
        .where(
            Message.conversation_id.in_(list(candidates)),
            Message.sender_type == "customer",
            Message.content_type == "text",
        )
        .order_by(Message.id)
    )
    texts: dict[int, list[str]] = {}
    for conversation_id, content in rows:
        texts.setdefault(int(conversation_id), []).append(content)
    ranked = rank_similar(customer_text, {cid: " ".join(parts) for cid, parts in texts.items()}, limit=limit)
    if not ranked:
        return []
    wrap_ups = {
        w.conversation_id: w.code
        for w in (
            await session.scalars(
                select(WrapUp).where(WrapUp.conversation_id.in_([cid for cid, _ in ranked]))
            )
        ).all()
    }
    result = []
    for cid, score in ranked:
        other = candidates[cid]
        first = texts[cid][0]
        excerpt = mask_text(first[:80]) or ""
        result.append(
            SimilarConversation(
                conversation_id=other.public_id,
                channel=other.channel,
                intent=other.intent,
                closed_at=other.closed_at.isoformat() if other.closed_at else "",
                excerpt=excerpt,
                wrap_up_code=wrap_ups.get(cid),
                same_customer=other.customer_id is not None and other.customer_id == conversation.customer_id,
                score=score,
            )
        )
    return result


# --- everything --------------------------------------------------------------------------------------


async def build_assist(
    *, session: AsyncSession, conversation: Conversation, intent_title: str | None, today: date | None = None
) -> Assist:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc())
        .limit(FACT_MESSAGES)
    )
    messages = list(reversed((await session.scalars(stmt)).all()))
    catalogue = await knowledge.get_product_names(session=session)
    facts = key_facts(messages, today=today, products=catalogue)
    if intent_title:
        facts.insert(0, Fact(type="intent", value=intent_title))
    customer_texts = [m.content for m in messages if m.sender_type == "customer" and m.content_type == "text"]
    agent_texts = [m.content for m in messages if m.sender_type == "agent"]
    latest = customer_texts[-1] if customer_texts else ""
    suggestions = await suggest_answers(
        session=session,
        query=latest,
        language=conversation.language,
        channel=conversation.channel,
        products=[str(e.value) for e in extract_entities(latest, products=catalogue) if e.type == "product"],
    )
    return Assist(
        facts=facts,
        suggestions=suggestions,
        similar=await similar_conversations(
            session=session, conversation=conversation, customer_text=" ".join(customer_texts[-5:])
        ),
        hints=compliance_hints(
            conversation=conversation, facts=facts, agent_texts=agent_texts, intent_title=intent_title
        ),
    )
