"""The WeChat customer-service-message port (客服消息接口) and its demo adapter.

WeChat lets a reply ride on the callback response only within 5 seconds (the passive reply). Every
later message to the user — a bot answer that took too long, an agent's reply, a system notice —
goes through the customer-service message API (`POST /cgi-bin/message/custom/send`), allowed for
48 hours after the user's last message. A bank plugs its implementation (which holds the app secret
and the access token, usually behind the bank's egress proxy) in with `set_cs_sender`; the WeChat
SDK or HTTP client is imported nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.errors import DomainError
from lingxi.core.outbound import record_outbound
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.channels.wechat.cs")


class WeChatCustomerServiceSender(Protocol):
    async def send_text(
        self, *, session: AsyncSession, openid: str, text: str, meta: dict[str, Any] | None = None
    ) -> None:
        """Send `text` to the user `openid`; raise on failure (the delivery is then retried)."""
        ...


class WeChatNotConfigured(DomainError):
    status_code = 503
    code = "wechat_cs_not_configured"


def mask_openid(openid: str | None) -> str:
    """Openids are personal identifiers: logs show the first 6 characters only."""
    if not openid:
        return "-"
    return openid[:6] + "***"


class DemoWeChatCustomerServiceSender:
    """Demo only: records what it would send into the developer outbox (adapter "wechat_cs")."""

    adapter = "wechat_cs"

    async def send_text(
        self, *, session: AsyncSession, openid: str, text: str, meta: dict[str, Any] | None = None
    ) -> None:
        record_outbound(
            session,
            adapter=self.adapter,
            recipient=openid,
            content=text,
            meta={"demo": True, "msgtype": "text", **(meta or {})},
        )
        log.info("[demo WeChat customer-service message, not sent] to %s", mask_openid(openid))


_override: WeChatCustomerServiceSender | None = None


def set_cs_sender(sender: WeChatCustomerServiceSender | None) -> None:
    """Install the bank's adapter at start-up (or a fake in tests); None restores the default."""
    global _override
    _override = sender


def get_cs_sender() -> WeChatCustomerServiceSender:
    """The installed adapter; otherwise the demo one, which is refused in prod (messages would vanish)."""
    if _override is not None:
        return _override
    if get_settings().env == "prod":
        raise WeChatNotConfigured(
            "No WeChat customer-service message adapter is configured; replies after the 5-second window "
            "cannot reach WeChat users.",
            details={"message_zh": "未配置微信客服消息接口，超时回复与人工回复无法送达微信用户。"},
        )
    return DemoWeChatCustomerServiceSender()
