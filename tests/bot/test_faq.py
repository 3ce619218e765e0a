"""FAQ intents are answered from the knowledge base; unsure questions get "您是想问" with FAQ entries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lingxi.bot.registry import get_flows, standard_intents
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.demo.knowledge import load_demo_knowledge


@pytest.fixture
async def demo_knowledge(db):
    async with db.sessionmaker() as s:
        await load_demo_knowledge(session=s, actor=Actor.system("test"))
        await s.commit()


async def test_every_intent_has_a_flow_an_answer_or_a_route(db, demo_knowledge):
    from lingxi.bot.policy import get_policy
    from lingxi.knowledge import service as knowledge

    routes = set(get_policy().handoff.route_intents) | {"greeting", "thanks_goodbye"}
    async with db.sessionmaker() as s:
        for intent, info in standard_intents().items():
            if intent in get_flows() or intent in routes or info["kind"] == "task":
                continue  # task intents: test_spec checks that each has a flow
            for language in ("zh-CN", "en"):
                hit = await knowledge.get_published_answer(
                    session=s, intent=intent, language=language, channel="webchat"
                )
                assert hit is not None, (intent, info["kind"], language)


async def test_an_faq_intent_is_answered_and_counts_as_resolved(banked, chat_as, db, demo_knowledge):
    chat = await chat_as(banked.customer)
    answer = await chat.say("信用卡年费怎么收的，能免吗")
    assert "年费" in answer and "是否解决了您的问题" in answer
    assert chat.quick_replies == ["已解决", "转人工"]
    async with db.sessionmaker() as s:
        stmt = select(Conversation).where(Conversation.public_id == chat.chat["conversation_id"])
        conversation = await s.scalar(stmt)
    assert conversation.bot_outcome == "resolved_by_bot"
    assert chat.replies[0]["payload"]["answer_html"]  # the H5 page may show the rich answer
    assert await chat.say("已解决") == "不客气，很高兴为您服务！如还有问题，随时找我。"


async def test_faq_on_wechat_is_plain_text(api, db, demo_knowledge):
    from tests.channels.wechat_sim import WeChat

    wx = WeChat(api, openid="oLx9faqUser000000000000001")
    answer = await wx.say("跨行转账要手续费吗")
    assert "<" not in answer and "手续费" in answer


async def test_english_faq(chat_as, demo_knowledge):
    chat = await chat_as(None)
    answer = await chat.say("how do I open an account with you")
    assert "Did this answer your question?" in answer and "account" in answer.lower()


async def test_an_faq_with_no_published_answer_goes_to_a_person(banked, chat_as, db):
    chat = await chat_as(banked.customer)  # no knowledge loaded
    await chat.say("信用卡年费怎么收的，能免吗")
    async with db.sessionmaker() as s:
        stmt = select(Conversation).where(Conversation.public_id == chat.chat["conversation_id"])
        conversation = await s.scalar(stmt)
    assert conversation.status == "queued" and conversation.context["handoff"]["reason"] == "no_answer"
