"""The WeChat Official Account callback over the real server: verification, replies, dedupe, rejections."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from lingxi.bot.texts import t
from lingxi.channels.models import InboundDelivery
from lingxi.channels.wechat import service as wechat_service
from lingxi.channels.wechat.messages import inbound_xml
from lingxi.channels.wechat.service import ALREADY_QUEUED, MEDIA_HINT, NEED_BINDING, UNKNOWN_MENU, WELCOME
from lingxi.conversations.models import Conversation
from lingxi.core.events import get_dispatcher
from lingxi.core.timeutil import utcnow
from tests.channels.wechat_sim import (
    ACCOUNT,
    CALLBACK,
    WeChat,
    counts,
    envelope_for,
    messages_of,
    next_msg_id,
    outbound,
    wait_for,
)

GREETING = t("greeting", "zh-CN")  # the bot's answer to 你好


@pytest.fixture(autouse=True)
async def _settle(db):
    """Let processing that outlived its request finish before the test's database goes away."""
    yield
    await wechat_service.wait_for_background()


async def test_url_verification_echoes_echostr(api):
    params = {
        "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff",
        "timestamp": "1410685589",
        "nonce": "test",
        "echostr": "5837397520596457",
    }
    r = await api.get(CALLBACK, params=params)
    assert r.status_code == 200
    assert r.text == "5837397520596457"


async def test_url_verification_with_bad_signature_is_refused(api):
    params = {"signature": "0" * 40, "timestamp": "1410685589", "nonce": "test", "echostr": "x"}
    r = await api.get(CALLBACK, params=params)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "wechat_bad_signature"
    r = await api.get(CALLBACK, params={"echostr": "x"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "wechat_unsigned"


async def test_plain_text_gets_a_passive_reply_and_is_stored_once(api, db):
    wx = WeChat(api)
    response = await wx.post(wx.text("你好"))
    assert response.headers["content-type"].startswith("application/xml")
    reply = wx.reply(response)
    assert reply is not None
    assert reply["FromUserName"] == ACCOUNT and reply["Content"] == GREETING
    messages = await messages_of(db, wx.openid)
    assert [(m.sender_type, m.channel) for m in messages] == [("customer", "wechat"), ("bot", "wechat")]
    assert messages[0].sender_name == "微信用户" and messages[0].client_msg_id.startswith("msg:")
    assert messages[1].payload["wechat_delivery"] == "passive"
    async with db.sessionmaker() as s:
        conversation = await s.scalar(select(Conversation).where(Conversation.channel_user_id == wx.openid))
    assert conversation.channel == "wechat" and conversation.customer_id is None
    assert conversation.verification_level == "L0"


async def test_safe_mode_round_trip(api, db):
    wx = WeChat(api, openid="oLx9safeModeUser000000000001")
    response = await wx.post(wx.text("你好"), safe=True)
    body = response.text
    assert "<Encrypt>" in body and "<MsgSignature>" in body and "查询余额" not in body
    reply = wx.reply(response)  # checks MsgSignature and decrypts
    assert reply is not None and reply["Content"] == GREETING
    assert [m.content for m in await messages_of(db, wx.openid)] == ["你好", GREETING]


async def test_three_identical_deliveries_store_one_message_and_one_reply(api, db):
    wx = WeChat(api, openid="oLx9retryUser0000000000000001")
    fields = wx.text("你好")
    responses = [await wx.post(fields) for _ in range(3)]
    contents = [wx.reply(r)["Content"] for r in responses]
    assert contents == [GREETING] * 3
    assert responses[0].text == responses[1].text == responses[2].text  # the stored reply, byte for byte
    messages = await messages_of(db, wx.openid)
    assert [m.sender_type for m in messages] == ["customer", "bot"]
    async with db.sessionmaker() as s:
        rows = list(await s.scalars(select(InboundDelivery).where(InboundDelivery.channel == "wechat")))
    assert len(rows) == 1 and rows[0].status == "done" and rows[0].reply_mode == "passive"


async def test_three_concurrent_identical_deliveries(api, db):
    wx = WeChat(api, openid="oLx9concurrentUser00000000001")
    fields = wx.text("你好")
    responses = await asyncio.gather(*(wx.post(fields) for _ in range(3)))
    replies = [wx.reply(r) for r in responses]
    assert all(r is not None and r["Content"] == GREETING for r in replies)
    messages = await messages_of(db, wx.openid)
    assert [m.sender_type for m in messages] == ["customer", "bot"]


async def test_concurrent_safe_mode_deliveries(api, db):
    wx = WeChat(api, openid="oLx9concurrentSafe0000000001")
    fields = wx.text("你好")
    responses = await asyncio.gather(*(wx.post(fields, safe=True) for _ in range(3)))
    assert {wx.reply(r)["Content"] for r in responses} == {GREETING}
    assert len(await messages_of(db, wx.openid)) == 2


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("malformed", 400, "wechat_bad_xml"),
        ("dtd_entity", 400, "wechat_bad_xml"),
        ("oversized", 413, "wechat_body_too_large"),
        ("too_long_text", 413, "message_too_long"),
        ("bad_signature", 401, "wechat_bad_signature"),
        ("bad_msg_signature", 401, "wechat_bad_signature"),
        ("wrong_app_id", 403, "wechat_wrong_app_id"),
        ("missing_fields", 400, "wechat_bad_message"),
        ("openid_mismatch", 400, "wechat_bad_request"),
    ],
)
async def test_rejections_are_clear_and_store_nothing(api, db, settings, caplog, case, status, code):
    wx = WeChat(api, openid="oLx9rejectedUser000000000001")
    before = await counts(db)
    good = inbound_xml(wx.text("你好"))
    if case == "malformed":
        r = await wx.post_raw(b"<xml><ToUserName>gh_x</ToUserName><Content>oops</xml>")
    elif case == "dtd_entity":
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{wx.openid}</FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&b;</Content>"
            f"<MsgId>{next_msg_id()}</MsgId></xml>"
        )
        r = await wx.post_raw(bomb.encode())
    elif case == "oversized":
        r = await wx.post_raw(
            b"<xml><Content>" + b"x" * (settings.wechat_max_body_bytes + 1) + b"</Content></xml>"
        )
    elif case == "too_long_text":
        r = await wx.post(wx.text("长" * (settings.max_message_chars + 1)))
    elif case == "bad_signature":
        r = await api.post(
            CALLBACK, params={**wx.signed_params(), "signature": "0" * 40}, content=good.encode()
        )
    elif case == "bad_msg_signature":
        envelope, params = envelope_for(settings, good, settings.wechat_app_id)
        r = await api.post(CALLBACK, params={**params, "msg_signature": "1" * 40}, content=envelope.encode())
    elif case == "wrong_app_id":
        r = await wx.post(wx.text("你好"), safe=True, app_id="wxsomeoneelse00001")
    elif case == "missing_fields":
        r = await wx.post_raw(
            f"<xml><FromUserName>{wx.openid}</FromUserName><MsgType>text</MsgType></xml>".encode()
        )
    else:  # openid_mismatch
        r = await wx.post_raw(good.encode(), openid="oSomebodyElse")
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    assert await counts(db) == before
    assert any("WeChat callback rejected" in rec.getMessage() for rec in caplog.records)


async def test_rejection_logs_mask_the_openid(api, caplog):
    wx = WeChat(api, openid="oLx9secretOpenid000000000001")
    await wx.post_raw(inbound_xml(wx.text("hi")).encode(), openid="oSomebodyElse")
    logged = " ".join(rec.getMessage() for rec in caplog.records if "rejected" in rec.getMessage())
    assert "oLx9se***" in logged and wx.openid not in logged


async def test_late_answer_goes_by_customer_service_message(api, db, settings, monkeypatch):
    monkeypatch.setattr(settings, "wechat_passive_reply_seconds", 0.0)
    wx = WeChat(api, openid="oLx9slowUser0000000000000001")
    fields = wx.text("你好")
    first = await wx.post(fields)
    assert first.status_code == 200 and first.text == "success"
    await wechat_service.wait_for_background()  # the processing outlives the request …
    await get_dispatcher().drain()  # … and its answers go out through the outbox handler
    records = await wait_for(lambda: outbound(db, "wechat_cs", wx.openid))
    assert [r.content for r in records] == [GREETING]
    assert records[0].meta["demo"] is True
    messages = await messages_of(db, wx.openid)
    assert [m.sender_type for m in messages] == ["customer", "bot"]
    assert messages[1].payload["wechat_delivery"] == "sent"
    # WeChat's retries change nothing: no second message, no second send.
    for _ in range(2):
        again = await wx.post(fields)
        assert again.text == "success"
    await get_dispatcher().drain()
    assert len(await outbound(db, "wechat_cs", wx.openid)) == 1
    assert len(await messages_of(db, wx.openid)) == 2


async def test_retry_while_first_is_processing_waits_for_its_reply(api, db, monkeypatch):
    wx = WeChat(api, openid="oLx9midProcessing00000000001")
    original = wechat_service.do_process_inbound
    started = asyncio.Event()

    async def slow(**kwargs):
        started.set()
        await asyncio.sleep(0.5)
        return await original(**kwargs)

    monkeypatch.setattr(wechat_service, "do_process_inbound", slow)
    fields = wx.text("信用卡还款日")
    first = asyncio.create_task(wx.post(fields))
    await started.wait()
    second = await wx.post(fields)  # arrives mid-processing
    first_response = await first
    assert wx.reply(second) == wx.reply(first_response)
    assert len(await messages_of(db, wx.openid)) == 2


async def test_failed_processing_releases_the_key_for_the_retry(api, db, monkeypatch):
    wx = WeChat(api, openid="oLx9failingUser0000000000001")
    original = wechat_service.do_process_inbound
    calls = {"n": 0}

    async def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup")
        return await original(**kwargs)

    monkeypatch.setattr(wechat_service, "do_process_inbound", flaky)
    fields = wx.text("挂失")
    before = await counts(db)
    r = await wx.post(fields)
    assert r.status_code == 500
    assert await counts(db) == before  # nothing half-stored, the claim released
    r = await wx.post(fields)
    assert wx.reply(r) is not None
    assert [m.sender_type for m in await messages_of(db, wx.openid)] == ["customer", "bot"]


async def test_claim_of_a_dead_process_is_taken_over(api, db):
    wx = WeChat(api, openid="oLx9deadClaim000000000000001")
    fields = wx.text("你好")
    async with db.sessionmaker() as s:
        s.add(
            InboundDelivery(
                channel="wechat",
                dedup_key=f"msg:{fields['MsgId']}",
                status="processing",
                claim_token="dead",
                claimed_at=utcnow() - timedelta(minutes=5),
            )
        )
        await s.commit()
    reply = wx.reply(await wx.post(fields))
    assert reply is not None and reply["Content"] == GREETING
    assert len(await messages_of(db, wx.openid)) == 2


async def test_subscribe_welcome_and_unsubscribe_recorded(api, db):
    wx = WeChat(api, openid="oLx9subscriber00000000000001")
    fields = wx.event("subscribe", key="qrscene_branch_0101")
    first = wx.reply(await wx.post(fields))
    assert first is not None and first["Content"] == WELCOME
    assert wx.reply(await wx.post(fields))["Content"] == WELCOME  # retry: same answer, nothing new
    assert wx.reply(await wx.post(wx.event("unsubscribe", create_time=int(fields["CreateTime"]) + 5))) is None
    messages = await messages_of(db, wx.openid)
    assert [(m.sender_type, m.content_type, m.content) for m in messages] == [
        ("customer", "event", "关注了公众号"),
        ("bot", "text", WELCOME),
        ("customer", "event", "取消关注公众号"),
    ]
    assert messages[0].payload == {"event": "subscribe", "event_key": "qrscene_branch_0101"}


async def test_menu_clicks(api, db):
    wx = WeChat(api, openid="oLx9menuUser0000000000000001")
    assert await wx.say("你好") == GREETING
    tickets = wx.reply(await wx.post(wx.event("CLICK", key="MY_TICKETS")))
    assert tickets["Content"] == NEED_BINDING
    unknown = wx.reply(await wx.post(wx.event("CLICK", key="NOT_CONFIGURED", create_time=1)))
    assert unknown["Content"] == UNKNOWN_MENU
    human = wx.reply(await wx.post(wx.event("CLICK", key="HUMAN_AGENT", create_time=2)))
    assert human["Content"] == t("handoff_customer_request", "zh-CN")
    again = wx.reply(await wx.post(wx.event("CLICK", key="HUMAN_AGENT", create_time=3)))
    assert again["Content"] == ALREADY_QUEUED
    async with db.sessionmaker() as s:
        conversation = await s.scalar(select(Conversation).where(Conversation.channel_user_id == wx.openid))
    assert conversation.status == "queued" and conversation.context["handoff_reason"] == "customer_request"
    # VIEW (menu link) is acknowledged and not stored
    before = len(await messages_of(db, wx.openid))
    assert wx.reply(await wx.post(wx.event("VIEW", key="https://bank.example/h5", create_time=4))) is None
    assert len(await messages_of(db, wx.openid)) == before


async def test_pictures_are_recorded_and_answered_with_a_hint(api, db):
    wx = WeChat(api, openid="oLx9pictureUser0000000000001")
    fields = {
        "ToUserName": ACCOUNT,
        "FromUserName": wx.openid,
        "CreateTime": 1700000001,
        "MsgType": "image",
        "PicUrl": "http://mmbiz.example/pic.jpg",
        "MediaId": "media-1",
        "MsgId": next_msg_id(),
    }
    reply = wx.reply(await wx.post(fields))
    assert reply["Content"] == MEDIA_HINT
    [picture, _] = await messages_of(db, wx.openid)
    assert picture.content == "[图片]" and picture.payload["MediaId"] == "media-1"


async def test_message_to_another_account_is_refused_when_the_account_id_is_configured(
    api, db, settings, monkeypatch
):
    wx = WeChat(api, openid="oLx9otherAccountUser00000001")
    monkeypatch.setattr(settings, "wechat_account_id", "gh_some_other_bank")
    before = await counts(db)
    r = await wx.post(wx.text("你好"))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "wechat_unknown_account")
    assert await counts(db) == before
    monkeypatch.setattr(settings, "wechat_account_id", ACCOUNT)
    assert await wx.say("你好")
