"""The one outbound port the notifications service talks to, with an adapter per channel.

Each adapter wraps the channel's own port (WeChat customer-service messages in lingxi.channels.wechat,
SMS in lingxi.identity, app push here), so a bank configures every gateway in one place only.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.channels.wechat.adapters import get_cs_sender
from lingxi.identity.adapters.sms import get_sms_sender
from lingxi.notifications.adapters.app_push import get_app_push_sender

CHANNELS = ("wechat_cs", "app_push", "sms")


class OutboundPort(Protocol):
    async def send(self, *, session: AsyncSession, address: str, text: str, meta: dict[str, Any]) -> None:
        """Deliver `text` to `address` (openid, app user id, phone); raise on failure."""
        ...


class WeChatCsPort:
    async def send(self, *, session: AsyncSession, address: str, text: str, meta: dict[str, Any]) -> None:
        await get_cs_sender().send_text(session=session, openid=address, text=text, meta=meta)


class SmsPort:
    async def send(self, *, session: AsyncSession, address: str, text: str, meta: dict[str, Any]) -> None:
        await get_sms_sender().send(session=session, phone=address, text=text)


class AppPushPort:
    async def send(self, *, session: AsyncSession, address: str, text: str, meta: dict[str, Any]) -> None:
        await get_app_push_sender().push(session=session, app_user=address, text=text, meta=meta)


_DEFAULTS: dict[str, OutboundPort] = {
    "wechat_cs": WeChatCsPort(),
    "sms": SmsPort(),
    "app_push": AppPushPort(),
}
_overrides: dict[str, OutboundPort] = {}


def set_port(channel: str, port: OutboundPort | None) -> None:
    """Replace the adapter of one channel (tests, or a bank's own notification gateway)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel}")
    if port is None:
        _overrides.pop(channel, None)
    else:
        _overrides[channel] = port


def get_port(channel: str) -> OutboundPort:
    return _overrides.get(channel) or _DEFAULTS[channel]
