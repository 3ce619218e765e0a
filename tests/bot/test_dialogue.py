"""The dialogue's policies over the real chat API: hand-off triggers, suggestions, timeouts, language."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lingxi.bot.texts import t
from lingxi.conversations.models import Conversation


async def _conversation(db, chat) -> Conversation:
    async with db.sessionmaker() as s:
        stmt = select(Conversation).where(Conversation.public_id == chat.chat["conversation_id"])
        return await s.scalar(stmt)


async def test_greeting_offers_popular_services(chat_as):
    chat = await chat_as(None)
    assert await chat.say("你好") == t("greeting", "zh-CN")
    assert "余额查询" in chat.quick_replies and "转人工" in chat.quick_replies


async def test_two_messages_not_understood_go_to_a_person(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    first = await chat.say("zxqw plmk vbnj")
    assert first == t("not_understood", "en") or first == t("not_understood", "zh-CN")
    await chat.say("qqq www eee rrr")
    conversation = await _conversation(db, chat)
    assert conversation.status == "queued" and conversation.bot_outcome == "handed_off"
    assert conversation.context["handoff"]["reason"] == "not_understood"
    assert [m["sender"] for m in conversation.context["handoff"]["transcript"]][:2] == ["customer", "bot"]


async def test_a_vip_goes_to_a_person_after_one_failure_and_to_the_vip_desk(db, make_customer, chat_as):
    vip = await make_customer(tier="vip")
    chat = await chat_as(vip)
    await chat.say("zxqw plmk vbnj")
    conversation = await _conversation(db, chat)
    assert conversation.status == "queued" and conversation.skill_group == "vip"


async def test_strong_anger_goes_to_a_person(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("app又闪退了，真是垃圾，烦死了！！")  # a login problem, said in anger
    assert answer == t("handoff_negative_sentiment", "zh-CN")
    conversation = await _conversation(db, chat)
    assert conversation.context["handoff"]["reason"] == "negative_sentiment"


async def test_an_angry_complaint_goes_to_the_complaint_desk(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("你们这什么破银行，垃圾服务，气死我了！！")
    assert answer == t("handoff_complaint", "zh-CN")


async def test_fraud_jumps_to_the_fraud_desk(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    answer = await chat.say("我被骗了，刚刚给骗子转了两万块")
    assert "反欺诈" in answer
    conversation = await _conversation(db, chat)
    assert conversation.skill_group == "fraud_risk" and conversation.intent == "fraud_report"
    assert conversation.context["handoff"]["urgent"] is True


async def test_complaint_is_handed_over_with_a_summary(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("我要投诉你们网点的工作人员态度差")
    handoff = (await _conversation(db, chat)).context["handoff"]
    assert handoff["reason"] == "complaint" and "投诉" in handoff["summary"]["zh-CN"]


async def test_hand_off_mid_flow_carries_the_slots(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("查下信用卡账单")
    await chat.say("转人工")
    conversation = await _conversation(db, chat)
    handoff = conversation.context["handoff"]
    assert handoff["reason"] == "customer_request" and handoff["intent"] == "bill_inquiry"
    assert "账单查询" in handoff["summary"]["zh-CN"] and conversation.skill_group == "credit_card"


async def test_a_slot_answered_wrongly_three_times_goes_to_a_person(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("帮我查下最近的交易明细")
    answer = await chat.say("嗯嗯嗯")
    assert t("retry_slot", "zh-CN") in answer and "哪个账户" in answer
    second = await chat.say("啦啦啦")
    third = await chat.say("哈哈哈")
    assert "人工" in third, (second, third)
    assert (await _conversation(db, chat)).context["handoff"]["reason"] == "slot_failed"


async def test_cancel_inside_a_flow(banked, chat_as, db):
    chat = await chat_as(banked.customer)
    await chat.say("帮我查下最近的交易明细")
    answer = await chat.say("算了")
    assert answer.startswith("好的，已取消交易明细查询")
    conversation = await _conversation(db, chat)
    assert "flow" not in conversation.context["bot"] and conversation.bot_outcome == "abandoned"


async def test_a_pending_question_lapses_after_the_timeout(banked, chat_as, db, monkeypatch):
    chat = await chat_as(banked.customer)
    await chat.say("帮我查下最近的交易明细")
    later = __import__("lingxi.core.timeutil", fromlist=["utcnow"]).utcnow() + timedelta(minutes=11)
    monkeypatch.setattr("lingxi.bot.dialogue.utcnow", lambda: later)
    answer = await chat.say("1")
    assert "已超时未完成" in answer


async def test_english_is_answered_in_english(banked, chat_as):
    chat = await chat_as(banked.customer)
    answer = await chat.say("what is my account balance please")
    assert "Your balances" in answer and "12,345.67" in answer


async def test_unsure_understanding_offers_three_choices_and_a_number_picks_one(banked, chat_as, monkeypatch):
    from lingxi.nlu import Prediction

    def unsure(text: str, k: int = 3) -> Prediction:
        return Prediction(
            intent="bill_inquiry",
            confidence=0.4,
            alternatives=[("bill_installment", 0.3), ("repayment_methods", 0.2)],
            out_of_scope=False,
        )

    model = __import__("lingxi.bot.registry", fromlist=["get_intent_model"]).get_intent_model()
    monkeypatch.setattr(model, "predict", unsure)
    chat = await chat_as(banked.customer)
    answer = await chat.say("卡的那个事情")
    assert answer.startswith("您是想问：") and "1. 账单查询" in answer and "2. 账单分期" in answer
    assert chat.quick_replies[:2] == ["账单查询", "账单分期"]
    answer = await chat.say("1")
    assert "哪张信用卡" in answer


async def test_wechat_menu_hand_off_carries_the_bot_context(api, db):
    from tests.channels.wechat_sim import WeChat

    wx = WeChat(api, openid="oLx9menuHandoff000000000001")
    await wx.say("你好")
    await wx.post(wx.event("CLICK", key="HUMAN_AGENT", create_time=5))
    async with db.sessionmaker() as s:
        conversation = await s.scalar(select(Conversation).where(Conversation.channel_user_id == wx.openid))
    assert conversation.status == "queued" and conversation.context["handoff"]["reason"] == "customer_request"


async def test_a_vip_reporting_fraud_goes_to_the_fraud_desk_not_the_vip_desk(db, make_customer, chat_as):
    vip = await make_customer(tier="private")
    chat = await chat_as(vip)
    await chat.say("有人盗刷了我的卡，我没有消费过")
    conversation = await _conversation(db, chat)
    assert conversation.status == "queued" and conversation.skill_group == "fraud_risk"


async def test_idle_conversations_are_closed_with_their_outcome(
    banked, chat_as, db, monkeypatch, make_customer
):
    from lingxi.bot.jobs import close_idle
    from lingxi.core.timeutil import utcnow

    abandoned = await chat_as(banked.customer)
    await abandoned.say("帮我查下最近的交易明细")  # left mid-flow
    resolved = await chat_as(await make_customer())
    await resolved.say("查余额")
    later = utcnow() + timedelta(minutes=31)
    monkeypatch.setattr("lingxi.bot.service.utcnow", lambda: later)
    assert await close_idle() == 2
    first, second = await _conversation(db, abandoned), await _conversation(db, resolved)
    assert (first.status, first.bot_outcome, first.outcome) == ("closed", "abandoned", "idle_timeout")
    assert (second.status, second.bot_outcome) == ("closed", "resolved_by_bot")
    assert await close_idle() == 0
