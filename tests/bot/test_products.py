"""Products of the knowledge base in conversations: the bot recognises the names of published entries
(a new publication at the next message), prefers their answers, resolves a holding by its name and hands
the product over to the agent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.timeutil import utcnow
from lingxi.demo.knowledge import load_demo_knowledge
from lingxi.demo.models import DemoWealthHolding
from lingxi.knowledge import service as knowledge
from lingxi.knowledge.schemas import EntryContent

LOADER = Actor.system("test")


@pytest.fixture
async def demo_knowledge(db):
    async with db.sessionmaker() as s:
        await load_demo_knowledge(session=s, actor=LOADER)
        await s.commit()


async def _publish(db, key: str, **fields) -> None:
    async with db.sessionmaker() as s:
        await knowledge.do_load_published(session=s, content=EntryContent(**fields), key=key, actor=LOADER)
        await s.commit()


async def _conversation(db, chat) -> Conversation:
    async with db.sessionmaker() as s:
        stmt = select(Conversation).where(Conversation.public_id == chat.chat["conversation_id"])
        conversation = await s.scalar(stmt)
    assert conversation is not None
    return conversation


async def test_a_named_product_prefers_its_answer(chat_as, demo_knowledge):
    chat = await chat_as(None)
    # The text alone ranks 灵犀现金宝 A first but not surely (transfer times is close): "您是想问".
    # Named as a product of the catalogue, its entry is preferred enough to answer.
    answer = await chat.say("现金宝多久到账")
    assert "快速赎回" in answer and "是否解决了您的问题" in answer, answer


async def test_a_new_publication_is_recognised_and_handed_over(banked, chat_as, db, demo_knowledge):
    chat = await chat_as(banked.customer)
    await chat.say("薪享理财30天的收益怎么算")
    assert "products" not in (await _conversation(db, chat)).context["bot"]  # not a product yet
    await _publish(
        db,
        "salary_wealth.zh-CN",
        standard_question="薪享理财30天是什么产品？",
        similar_questions=["薪享理财收益怎么样", "薪享理财30天能随时取吗"],
        answer="<p>薪享理财30天是面向代发工资客户的R2理财产品，每30天开放一次申购赎回。</p>",
        category="存款与理财",
        products=[{"name": "薪享理财30天", "aliases": ["薪享理财"]}],
    )
    await chat.say("那灵犀现金宝 A 和薪享理财哪个好，我找人工问问")
    conversation = await _conversation(db, chat)
    assert conversation.status == "queued"
    handoff = conversation.context["handoff"]
    assert handoff["slots"]["product"] == "灵犀现金宝 A、薪享理财30天"
    assert "product=灵犀现金宝 A、薪享理财30天" in handoff["summary"]["zh-CN"]
    assert conversation.context["bot"]["products"] == ["灵犀现金宝 A", "薪享理财30天"]


async def test_a_holding_is_resolved_by_the_product_named(banked, chat_as, db):
    """Two holdings whose names share every word: the product of the catalogue the customer names picks
    the one; without it the bot has to ask."""
    async with db.sessionmaker() as s:
        s.add(
            DemoWealthHolding(
                customer_id=banked.customer.id,
                product_code="AX30Z",
                product_name="安心理财30天尊享版",
                risk_level="R2",
                units=Decimal("5000"),
                nav=Decimal("1.0100"),
                cost=Decimal("5000"),
                redeemable=True,
                redemption_rule="T+2 到账",
                purchased_on=(utcnow() - timedelta(days=30)).date(),
            )
        )
        await s.commit()
    chat = await chat_as(banked.customer)
    answer = await chat.say("赎回安心理财30天")
    assert "请问赎回哪款理财产品" in answer and "安心理财30天尊享版" in answer, answer
    await chat.say("取消")

    await _publish(
        db,
        "anxin30.zh-CN",
        standard_question="安心理财30天怎么赎回？",
        similar_questions=["安心理财30天多久到账"],
        answer="<p>开放日可赎回，T+1 到账。</p>",
        category="存款与理财",
        products=["安心理财30天"],
    )
    chat = await chat_as(banked.customer)
    answer = await chat.say("赎回安心理财30天")
    assert "您持有安心理财30天10,000.00份" in answer and "全部赎回还是部分赎回" in answer, answer
