"""The SMS port used to send one-time codes, and its demo adapter.

A bank plugs its SMS gateway in behind `SmsSender`; the gateway's SDK is imported nowhere else.
The demo adapter does not send anything: it records the text in the developer outbox (the
developer inbox page, `GET /api/dev/inbox`) and writes it to the log so that a developer can type
the code. That is acceptable only because it is the demo: a real adapter never logs or stores the
text of a message that carries a code.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.errors import DomainError
from lingxi.core.masking import mask_phone
from lingxi.core.outbound import record_outbound
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.identity.sms")


class SmsSender(Protocol):
    async def send(self, *, session: AsyncSession, phone: str, text: str) -> None:
        """Send `text` to `phone`; raise on failure (the caller's transaction then rolls back)."""
        ...


class SmsNotConfigured(DomainError):
    status_code = 503
    code = "sms_not_configured"


class DemoSmsSender:
    """Demo only: records into the developer outbox (adapter "sms") and logs the text at INFO."""

    adapter = "sms"

    async def send(self, *, session: AsyncSession, phone: str, text: str) -> None:
        record_outbound(session, adapter=self.adapter, recipient=phone, content=text, meta={"demo": True})
        log.info("[demo SMS, not sent] to %s: %s", mask_phone(phone), text)


_override: SmsSender | None = None


def set_sms_sender(sender: SmsSender | None) -> None:
    """Install a sender (a bank's gateway adapter at start-up, a fake in tests); None restores the default."""
    global _override
    _override = sender


def get_sms_sender() -> SmsSender:
    """The one place that chooses the SMS adapter.

    An installed adapter wins; otherwise the demo adapter, which is refused in prod so that codes are
    never written to the outbox or the log of a production system.
    """
    if _override is not None:
        return _override
    if get_settings().env == "prod":
        raise SmsNotConfigured(
            "No SMS gateway is configured, so a one-time code cannot be sent; use another way to verify.",
            details={"message_zh": "短信通道未配置，暂时无法发送验证码，请选择其他验证方式。"},
        )
    return DemoSmsSender()
