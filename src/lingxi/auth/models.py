"""Staff users with one role and an organisational scope (branch / department)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

ROLES = ("agent", "supervisor", "back_office", "knowledge_admin", "admin", "auditor")


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    branch_code: Mapped[str | None] = mapped_column(String(20), default=None)  # None = head office
    department: Mapped[str | None] = mapped_column(String(60), default=None)
    languages: Mapped[str] = mapped_column(String(40), default="zh-CN")
    max_concurrent_chats: Mapped[int] = mapped_column(default=5)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Log-out ends every session issued before this moment (tokens are otherwise stateless).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
