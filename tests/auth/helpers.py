"""Small helpers shared by the auth, agents and audit tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lingxi.audit.models import AuditLog
from lingxi.auth.models import StaffUser
from lingxi.core.db import Database


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def audit_rows(db: Database, action: str | None = None, **where: Any) -> list[AuditLog]:
    """Audit rows as committed (read in a fresh session), oldest first."""
    async with db.sessionmaker() as s:
        stmt = select(AuditLog).order_by(AuditLog.id)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        for column, value in where.items():
            stmt = stmt.where(getattr(AuditLog, column) == value)
        return list((await s.scalars(stmt)).all())


async def staff_row(db: Database, staff_id: int) -> StaffUser:
    async with db.sessionmaker() as s:
        user = await s.get(StaffUser, staff_id)
        assert user is not None
        return user
