"""The app push port (the bank's mobile app notification service) and its demo adapter.

A bank plugs its push gateway in with `set_app_push_sender`; its SDK is imported nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.errors import DomainError
from lingxi.core.outbound import record_outbound
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.notifications.app_push")


class AppPushSender(Protocol):
    async def push(
        self, *, session: AsyncSession, app_user: str, text: str, meta: dict[str, Any] | None = None
    ) -> None:
        """Push `text` to the app user's devices; raise on failure (the delivery is then retried)."""
        ...


class AppPushNotConfigured(DomainError):
    status_code = 503
    code = "app_push_not_configured"


class DemoAppPushSender:
    """Demo only: records the push into the developer outbox (adapter "app_push")."""

    adapter = "app_push"

    async def push(
        self, *, session: AsyncSession, app_user: str, text: str, meta: dict[str, Any] | None = None
    ) -> None:
        record_outbound(session, adapter=self.adapter, recipient=app_user, content=text, meta=meta)
        log.info("[demo app push, not sent] to app user %s", app_user)


_override: AppPushSender | None = None


def set_app_push_sender(sender: AppPushSender | None) -> None:
    global _override
    _override = sender


def get_app_push_sender() -> AppPushSender:
    if _override is not None:
        return _override
    if get_settings().env == "prod":
        raise AppPushNotConfigured(
            "No app push gateway is configured.", details={"message_zh": "未配置手机银行推送通道。"}
        )
    return DemoAppPushSender()
