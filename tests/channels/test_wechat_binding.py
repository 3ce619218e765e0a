"""Binding a WeChat user to a bank customer, one timeline across channels, and agent replies to WeChat."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lingxi.bot.texts import t
from lingxi.channels.wechat import handlers as wechat_handlers
from lingxi.channels.wechat import service as wechat_service
from lingxi.channels.wechat.binding import TEXTS as BIND
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation, Message
from lingxi.core.actor import Actor
from lingxi.core.events import emit, get_dispatcher
from lingxi.customers.models import ContactPoint
from lingxi.identity.app_tokens import issue_demo_app_token
from tests.channels.wechat_sim import WeChat, messages_of, otp_sent_to, outbound, wait_for
from tests.chat_helpers import bearer, open_chat, say

GREETING = t("greeting", "zh-CN")  # the bot's answer to 你好


@pytest.fixture(autouse=True)
async def _settle(db):
    """Let processing that outlived its request finish before the test's database goes away."""
    yield
    await wechat_service.wait_for_background()


async def _conversation(db, openid: str) -> Conversation:
    async with db.sessionmaker() as s:
        return await s.scalar(
            select(Conversation)
            .where(Conversation.channel_user_id == openid)
            .order_by(Conversation.id.desc())
        )


async def _bind(db, wx: WeChat, phone: str) -> None:
    assert await wx.say("绑定") == BIND["ask_phone"]
    assert await wx.say(f"{phone[:3]} {phone[3:7]} {phone[7:]}") == BIND["code_sent"].format(minutes=5)
    code = await otp_sent_to(db, phone)
    wrong = "000000" if code != "000000" else "111111"
    assert await wx.say(wrong) == BIND["wrong_code"].format(remaining=4)
    assert (await wx.say(code)).startswith("绑定成功！")


async def test_binding_makes_the_wechat_user_the_customer_on_one_timeline(api, db, make_customer, make_staff):
    customer = await make_customer(name="王小明")
    # The customer first talks to the bank in the app …
    chat = await open_chat(api, app_token=issue_demo_app_token(customer.customer_no))
    await say(api, chat, "我的信用卡账单怎么分期")

    # … then continues on WeChat, anonymous until bound.
    wx = WeChat(api, openid="oLx9bindingUser0000000000001")
    assert await wx.say("你好") == GREETING
    await _bind(db, wx, customer.phone)

    conversation = await _conversation(db, wx.openid)
    assert conversation.customer_id == customer.id
    assert conversation.verification_level == "L2"
    assert "wechat_binding" not in conversation.context
    async with db.sessionmaker() as s:
        point = await s.scalar(select(ContactPoint).where(ContactPoint.kind == "wechat_openid"))
    assert point.customer_id == customer.id and point.value == wx.openid and point.verified_at is not None

    # Neither the code nor the phone number is stored in clear;
    # the earlier anonymous messages are the customer's now.
    messages = await messages_of(db, wx.openid)
    contents = " ".join(m.content for m in messages)
    assert customer.phone not in contents and not re.search(r"(?<!\d)\d{6}(?!\d)", contents)
    assert all(m.customer_id == customer.id for m in messages)
    assert "138****" in contents and "******" in contents

    # The next message on WeChat is the customer's, named (masked) as the customer.
    assert await wx.say("你好") == GREETING
    last_customer = [m for m in await messages_of(db, wx.openid) if m.sender_type == "customer"][-1]
    assert last_customer.sender_name == "王*明"

    # The agent sees both conversations on the customer's timeline.
    _, token = await make_staff("agent")
    r = await api.get(f"/api/customers/{customer.id}/timeline", headers=bearer(token))
    assert r.status_code == 200, r.text
    channels = [entry["conversation"]["channel"] for entry in r.json()["items"]]
    assert sorted(channels) == ["webchat", "wechat"]
    async with db.sessionmaker() as s:
        timeline = await conversations.list_customer_timeline(session=s, customer_id=customer.id)
    assert {c.channel for c, _ in timeline} == {"webchat", "wechat"}


async def test_bound_user_is_the_customer_in_later_conversations(api, db, make_customer):
    customer = await make_customer(name="李芳芳")
    wx = WeChat(api, openid="oLx9returningUser00000000001")
    await _bind(db, wx, customer.phone)
    first = await _conversation(db, wx.openid)
    async with db.sessionmaker() as s:
        conversation = await s.get(Conversation, first.id)
        await conversations.do_close(
            session=s, conversation=conversation, outcome="resolved", actor=Actor.system("test")
        )
        await s.commit()

    welcome = wx.reply(await wx.post(wx.event("subscribe")))
    assert welcome["Content"] == wechat_service.WELCOME_BACK.format(name="李*芳")
    later = await _conversation(db, wx.openid)
    assert later.id != first.id and later.customer_id == customer.id
    assert later.verification_level == "L2"  # the step-up is carried over inside its window
    assert await wx.say("绑定") == BIND["already_bound"].format(name="李*芳")


async def test_unknown_phone_gets_the_same_answers_and_no_code(api, db):
    wx = WeChat(api, openid="oLx9strangerUser000000000001")
    assert await wx.say("绑定") == BIND["ask_phone"]
    assert await wx.say("13912345678") == BIND["code_sent"].format(minutes=5)
    assert await outbound(db, "sms") == []
    assert await wx.say("123456") == BIND["wrong_code"].format(remaining=4)
    assert (await _conversation(db, wx.openid)).customer_id is None


async def test_binding_can_be_cancelled_and_bad_phones_are_counted(api, db):
    wx = WeChat(api, openid="oLx9cancelUser00000000000001")
    assert await wx.say("绑定账户") == BIND["ask_phone"]
    assert await wx.say("不记得了") == BIND["bad_phone"]
    assert await wx.say("取消") == BIND["cancelled"]
    assert "wechat_binding" not in (await _conversation(db, wx.openid)).context
    assert await wx.say("你好") == GREETING  # back to the bot
    assert await wx.say("绑定") == BIND["ask_phone"]
    assert await wx.say("123") == BIND["bad_phone"]
    assert await wx.say("456") == BIND["bad_phone"]
    assert await wx.say("789") == BIND["too_many_phone"]


async def test_bind_menu_starts_the_dialogue(api, db, make_customer):
    await make_customer()
    wx = WeChat(api, openid="oLx9bindMenuUser000000000001")
    reply = wx.reply(await wx.post(wx.event("CLICK", key="BIND_ACCOUNT")))
    assert reply["Content"] == BIND["ask_phone"]


async def test_agent_replies_reach_the_wechat_user_by_customer_service_message(api, db, make_staff):
    wx = WeChat(api, openid="oLx9agentChatUser00000000001")
    assert await wx.say("转人工") == t("handoff_customer_request", "zh-CN")
    conversation = await _conversation(db, wx.openid)
    _, token = await make_staff("agent", display_name="客服小李")
    r = await api.post(f"/api/agent/conversations/{conversation.public_id}/accept", headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await api.post(
        f"/api/agent/conversations/{conversation.public_id}/messages",
        json={"client_msg_id": "a-1", "text": "您好，我是客服小李，请问有什么可以帮您？"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text

    # conversation.message_added is emitted by conversations.do_add_message once the lead wires it;
    # emitting it here too is harmless (delivery is idempotent) and keeps this test independent of that.
    async with db.sessionmaker() as s:
        for m in await s.scalars(select(Message).where(Message.conversation_id == conversation.id)):
            emit(
                s,
                "conversation.message_added",
                {
                    "conversation_id": conversation.id,
                    "message_id": m.id,
                    "channel": m.channel,
                    "sender_type": m.sender_type,
                },
            )
        await s.commit()
    await get_dispatcher().drain()

    records = await wait_for(lambda: outbound(db, "wechat_cs", wx.openid))
    assert [r.content for r in records] == [
        "客服 客服小李 已接入，为您服务。",
        "您好，我是客服小李，请问有什么可以帮您？",
    ]
    # the bot's hand-off answer went out passively and is not sent again
    messages = await messages_of(db, wx.openid)
    assert {m.payload.get("wechat_delivery") for m in messages if m.sender_type != "customer"} == {
        "passive",
        "sent",
    }
    async with db.sessionmaker() as s:
        assert not await wechat_handlers.do_deliver_message(session=s, message_id=messages[-1].id)
