"""Writing and reading the append-only audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.models import AuditLog
from lingxi.core.actor import Actor
from lingxi.core.masking import mask_mapping


def do_record(
    *,
    session: AsyncSession,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditLog:
    """Add an audit row to the caller's transaction; personal data in before/after is masked."""
    row = AuditLog(
        actor_type=actor.type,
        actor_id=str(actor.id),
        actor_name=actor.name,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=mask_mapping(before) if before is not None else None,
        after=mask_mapping(after) if after is not None else None,
        reason=reason,
        ip=actor.ip,
    )
    session.add(row)
    return row


async def list_audit(
    *,
    session: AsyncSession,
    actor_type: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[AuditLog]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if actor_type:
        stmt = stmt.where(AuditLog.actor_type == actor_type)
    if actor_id:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if subject_type:
        stmt = stmt.where(AuditLog.subject_type == subject_type)
    if subject_id:
        stmt = stmt.where(AuditLog.subject_id == subject_id)
    if since:
        stmt = stmt.where(AuditLog.at >= since)
    if until:
        stmt = stmt.where(AuditLog.at < until)
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    return (await session.scalars(stmt)).all()
