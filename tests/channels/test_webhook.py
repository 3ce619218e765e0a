"""The signed inbound webhook: SMS, IVR transcripts and other systems, exactly once per idempotency key."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.bot.texts import t
from lingxi.channels.webhook import sign_webhook
from lingxi.conversations.models import Conversation, Message
from tests.channels.wechat_sim import counts

SECRET = "demo-sms-secret"  # settings.webhook_secrets["demo-sms"]
IVR_SECRET = "demo-ivr-secret"


def signed(
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    key: str | None = None,
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Lingxi-Timestamp": ts,
        "X-Lingxi-Signature": sign_webhook(secret, ts, raw),
        "X-Idempotency-Key": key or f"sms-{uuid.uuid4()}",
    }
    return raw, headers


def sms(sender: str, text: str = "信用卡被冻结了怎么办") -> dict[str, Any]:
    return {"channel": "sms", "from": sender, "text": text, "occurred_at": "2026-11-29T10:00:00+08:00"}


async def post(api, source: str, raw: bytes, headers: dict[str, str]):
    return await api.post(f"/api/channels/webhook/{source}", content=raw, headers=headers)


def test_sign_webhook_is_hmac_sha256_of_timestamp_dot_body():
    assert sign_webhook("s3cret", 1700000000, b'{"a":1}') == sign_webhook("s3cret", "1700000000", '{"a":1}')
    assert len(sign_webhook("s3cret", 1, b"")) == 64


async def test_signed_sms_from_a_known_phone_is_the_customers_at_l0(api, db, make_customer):
    customer = await make_customer(name="王小明")
    raw, headers = signed(sms(f"+86 {customer.phone}", "你好"))
    r = await post(api, "demo-sms", raw, headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["channel"] == "sms"
    assert body["customer_identified"] is True and body["verification_level"] == "L0"
    assert body["messages_stored"] == 2 and body["replies"] == [{"text": t("greeting", "zh-CN")}]
    async with db.sessionmaker() as s:
        conversation = await s.scalar(
            select(Conversation).where(Conversation.public_id == body["conversation_id"])
        )
        assert conversation.channel == "sms" and conversation.customer_id == customer.id
        messages = list(await s.scalars(select(Message).where(Message.conversation_id == conversation.id)))
        assert [m.sender_type for m in messages] == ["customer", "bot"]
        assert messages[0].sender_name == "王*明" and messages[0].payload["source"] == "demo-sms"
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "channel.webhook_received"))
        assert audit is not None and audit.actor_id == "webhook:demo-sms"


async def test_unknown_sender_is_stored_anonymously(api, db):
    raw, headers = signed(sms("13900001111", "你好"))
    r = await post(api, "demo-sms", raw, headers)
    assert r.status_code == 200, r.text
    assert r.json()["customer_identified"] is False
    async with db.sessionmaker() as s:
        conversation = await s.scalar(select(Conversation).where(Conversation.channel == "sms"))
        assert conversation.customer_id is None and conversation.channel_user_id == "13900001111"


async def test_replayed_key_answers_the_same_and_stores_nothing_twice(api, db):
    raw, headers = signed(sms("13900002222"), key="gw-msg-0001")
    first = await post(api, "demo-sms", raw, headers)
    after_first = await counts(db)
    again = await post(api, "demo-sms", raw, headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await counts(db) == after_first
    # the same key for another body is a client bug: refused
    other, other_headers = signed(sms("13900002222", "另一条"), key="gw-msg-0001")
    r = await post(api, "demo-sms", other, other_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert await counts(db) == after_first


async def test_concurrent_replays_store_once(api, db):
    raw, headers = signed(sms("13900003333"), key="gw-msg-concurrent")
    before = await counts(db)
    responses = await asyncio.gather(*(post(api, "demo-sms", raw, headers) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    after = await counts(db)
    assert after["messages"] - before["messages"] == 2 and after["deliveries"] - before["deliveries"] == 1


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown_source", 401, "webhook_unknown_source"),
        ("bad_signature", 401, "webhook_bad_signature"),
        ("unsigned", 401, "webhook_unsigned"),
        ("stale_timestamp", 401, "webhook_stale_timestamp"),
        ("other_sources_secret", 401, "webhook_bad_signature"),
        ("no_idempotency_key", 400, "idempotency_key_required"),
        ("bad_json", 400, "webhook_bad_json"),
        ("invalid_body", 422, "validation_failed"),
        ("bad_sender", 422, "webhook_bad_sender"),
        ("too_large", 413, "webhook_body_too_large"),
        ("too_long_text", 413, "message_too_long"),
    ],
)
async def test_rejections_are_clear_logged_and_store_nothing(api, db, settings, caplog, case, status, code):
    before = await counts(db)
    raw, headers = signed(sms("13900004444"))
    source = "demo-sms"
    if case == "unknown_source":
        source = "nobody"
    elif case == "bad_signature":
        headers["X-Lingxi-Signature"] = "0" * 64
    elif case == "unsigned":
        del headers["X-Lingxi-Signature"]
    elif case == "stale_timestamp":
        raw, headers = signed(
            sms("13900004444"), timestamp=int(time.time()) - settings.webhook_max_skew_seconds - 60
        )
    elif case == "other_sources_secret":
        raw, headers = signed(sms("13900004444"), secret=IVR_SECRET)
    elif case == "no_idempotency_key":
        del headers["X-Idempotency-Key"]
    elif case == "bad_json":
        raw, headers = signed(b'{"channel": "sms", ')
    elif case == "invalid_body":
        raw, headers = signed({**sms("13900004444"), "colour": "blue", "channel": "fax"})
    elif case == "bad_sender":
        raw, headers = signed(sms("call me maybe"))
    elif case == "too_large":
        raw, headers = signed(sms("13900004444", "长" * 100_000))
    else:
        raw, headers = signed(sms("13900004444", "长" * (settings.max_message_chars + 1)))
    r = await post(api, source, raw, headers)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    assert "WWW-Authenticate" not in r.headers
    assert await counts(db) == before
    assert any("rejected" in rec.getMessage() for rec in caplog.records)


async def test_ivr_transcript_is_a_closed_conversation_on_the_customers_timeline(api, db, make_customer):
    customer = await make_customer(name="张伟")
    body = {
        "channel": "ivr",
        "from": customer.phone,
        "occurred_at": "2026-11-29T09:30:00+08:00",
        "reference": "call-20261129-0001",
        "text": "客户咨询信用卡年费，已解答。",
        "transcript": [
            {
                "speaker": "ivr",
                "text": "您好，欢迎致电灵犀银行，请说出您要办理的业务。",
                "at": "2026-11-29T09:30:01+08:00",
            },
            {"speaker": "customer", "text": "信用卡年费怎么收", "at": "2026-11-29T09:30:06+08:00"},
            {"speaker": "agent", "text": "您的卡刷满六次免次年年费。", "at": "2026-11-29T09:31:00+08:00"},
        ],
    }
    raw, headers = signed(body, secret=IVR_SECRET, key="call-20261129-0001")
    r = await post(api, "demo-ivr", raw, headers)
    assert r.status_code == 200, r.text
    assert r.json()["messages_stored"] == 3 and r.json()["replies"] == []
    async with db.sessionmaker() as s:
        conversation = await s.scalar(
            select(Conversation).where(Conversation.public_id == r.json()["conversation_id"])
        )
        assert conversation.channel == "ivr" and conversation.status == "closed"
        assert conversation.customer_id == customer.id and conversation.verification_level == "L0"
        assert conversation.outcome == "call_ended" and conversation.context["ivr_summary"].startswith(
            "客户咨询"
        )
        messages = list(
            await s.scalars(
                select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
            )
        )
    assert [(m.sender_type, m.sender_name) for m in messages[:3]] == [
        ("bot", "语音导航"),
        ("customer", "张*"),
        ("agent", "电话客服"),
    ]
    assert messages[1].payload["at"] == "2026-11-29T09:30:06+08:00"
    # a second call opens a second conversation
    body2 = {**body, "reference": "call-20261129-0002"}
    raw, headers = signed(body2, secret=IVR_SECRET, key="call-20261129-0002")
    r2 = await post(api, "demo-ivr", raw, headers)
    assert r2.status_code == 200 and r2.json()["conversation_id"] != r.json()["conversation_id"]


async def test_ivr_needs_a_transcript(api, db):
    raw, headers = signed(
        {"channel": "ivr", "from": "13900005555", "occurred_at": "2026-11-29T09:30:00Z"}, secret=IVR_SECRET
    )
    r = await post(api, "demo-ivr", raw, headers)
    assert r.status_code == 422
    assert "transcript" in r.json()["error"]["details"][0]["problem"]


async def test_customer_reference_identifies_by_customer_number(api, db, make_customer):
    customer = await make_customer()
    body = {
        "channel": "webhook",
        "from": f"customer:{customer.customer_no}",
        "text": "网银登录失败",
        "occurred_at": "2026-11-29T10:00:00Z",
    }
    raw, headers = signed(body)
    r = await post(api, "demo-sms", raw, headers)
    assert r.status_code == 200, r.text
    assert r.json()["customer_identified"] is True and r.json()["channel"] == "webhook"
