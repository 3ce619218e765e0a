"""Pydantic shapes of staff notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class NotificationRead(BaseModel):
    id: int
    topic: str
    subject_type: str | None
    subject_id: str | None
    content: str
    meta: dict[str, Any] | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationRead]
    unread: int
