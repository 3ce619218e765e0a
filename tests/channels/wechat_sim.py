"""Plays WeChat's side of the Official Account callback in tests: signs, encrypts, posts, decrypts."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Any

import httpx
from sqlalchemy import func, select

from lingxi.channels.models import InboundDelivery
from lingxi.channels.wechat.crypto import WeChatCrypto, signature
from lingxi.channels.wechat.messages import encrypted_envelope, inbound_xml, parse_xml
from lingxi.conversations.models import Conversation, Message
from lingxi.core.outbound import OutboundRecord
from lingxi.settings import get_settings

CALLBACK = "/api/channels/wechat/callback"
ACCOUNT = "gh_lingxi_demo01"
_msg_ids = itertools.count(6_000_000_000_000_000_001)


def next_msg_id() -> str:
    return str(next(_msg_ids))


class WeChat:
    """One WeChat user (openid) writing to the account."""

    def __init__(self, api: httpx.AsyncClient, openid: str = "oLx9demoUser0000000000000001") -> None:
        self.api = api
        self.openid = openid
        self.settings = get_settings()

    def text(self, content: str, msg_id: str | None = None, create_time: int | None = None) -> dict[str, Any]:
        return {
            "ToUserName": ACCOUNT,
            "FromUserName": self.openid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id or next_msg_id(),
        }

    def event(self, event: str, key: str | None = None, create_time: int | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "ToUserName": ACCOUNT,
            "FromUserName": self.openid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": "event",
            "Event": event,
        }
        if key is not None:
            fields["EventKey"] = key
        return fields

    def signed_params(self, timestamp: str | None = None, nonce: str = "n0nce123") -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        return {
            "signature": signature(self.settings.wechat_token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": self.openid,
        }

    async def post(
        self, fields: dict[str, Any], *, safe: bool = False, app_id: str | None = None
    ) -> httpx.Response:
        params = self.signed_params()
        body = inbound_xml(fields)
        if safe:
            crypto = WeChatCrypto(
                self.settings.wechat_encoding_aes_key, app_id or self.settings.wechat_app_id
            )
            encrypted = crypto.encrypt(body)
            params["encrypt_type"] = "aes"
            params["msg_signature"] = signature(
                self.settings.wechat_token, params["timestamp"], params["nonce"], encrypted
            )
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        return await self.api.post(
            CALLBACK, params=params, content=body.encode(), headers={"Content-Type": "text/xml"}
        )

    async def post_raw(self, body: bytes, **extra: str) -> httpx.Response:
        return await self.api.post(
            CALLBACK,
            params={**self.signed_params(), **extra},
            content=body,
            headers={"Content-Type": "text/xml"},
        )

    def reply(self, response: httpx.Response) -> dict[str, str] | None:
        """The passive reply's fields (decrypted in safe mode), or None for "success"."""
        assert response.status_code == 200, response.text
        if response.text == "success":
            return None
        fields = parse_xml(response.content)
        if "Encrypt" in fields:
            expected = signature(
                self.settings.wechat_token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
            )
            assert fields["MsgSignature"] == expected
            crypto = WeChatCrypto(self.settings.wechat_encoding_aes_key, self.settings.wechat_app_id)
            fields = parse_xml(crypto.decrypt(fields["Encrypt"]))
        assert fields["ToUserName"] == self.openid and fields["MsgType"] == "text"
        return fields

    async def say(self, content: str) -> str | None:
        reply = self.reply(await self.post(self.text(content)))
        return reply["Content"] if reply else None


def envelope_for(settings: Any, xml: str, app_id: str) -> tuple[str, dict[str, str]]:
    crypto = WeChatCrypto(settings.wechat_encoding_aes_key, app_id)
    encrypted = crypto.encrypt(xml)
    ts, nonce = str(int(time.time())), "abc"
    sig = signature(settings.wechat_token, ts, nonce, encrypted)
    return encrypted_envelope(encrypt=encrypted, msg_signature=sig, timestamp=ts, nonce=nonce), {
        "timestamp": ts,
        "nonce": nonce,
        "msg_signature": sig,
        "encrypt_type": "aes",
        "signature": signature(settings.wechat_token, ts, nonce),
    }


async def counts(db: Any) -> dict[str, int]:
    async with db.sessionmaker() as s:
        return {
            name: int(await s.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("conversations", Conversation),
                ("messages", Message),
                ("deliveries", InboundDelivery),
                ("outbound", OutboundRecord),
            )
        }


async def messages_of(db: Any, openid: str) -> list[Message]:
    async with db.sessionmaker() as s:
        rows = await s.scalars(
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.channel_user_id == openid)
            .order_by(Message.id)
        )
        return list(rows)


async def outbound(db: Any, adapter: str, recipient: str | None = None) -> list[OutboundRecord]:
    async with db.sessionmaker() as s:
        stmt = select(OutboundRecord).where(OutboundRecord.adapter == adapter).order_by(OutboundRecord.id)
        if recipient is not None:
            stmt = stmt.where(OutboundRecord.recipient == recipient)
        return list(await s.scalars(stmt))


async def wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def otp_sent_to(db: Any, phone: str) -> str:
    async def latest() -> str | None:
        records = await outbound(db, "sms", phone)
        return records[-1].content if records else None

    text = await wait_for(latest)
    assert text, f"no SMS to {phone}"
    match = re.search(r"\d{6}", text)
    assert match
    return match.group(0)
