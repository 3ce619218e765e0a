"""Staff notifications in the console: escalations, urges, assignments, hot issues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lingxi.auth.service import CurrentStaff
from lingxi.core.deps import SessionDep
from lingxi.notifications import service
from lingxi.notifications.schemas import NotificationList, NotificationRead

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=NotificationList, summary="My notifications, newest first")
async def my_notifications(
    session: SessionDep,
    user: CurrentStaff,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    rows = await service.list_staff_notifications(
        session=session, staff_id=user.id, unread_only=unread_only, limit=limit
    )
    return NotificationList(
        items=[NotificationRead.model_validate(r, from_attributes=True) for r in rows],
        unread=await service.count_unread(session=session, staff_id=user.id),
    )


@router.post("/{notification_id}/read", response_model=NotificationRead, summary="Mark as read")
async def mark_read(notification_id: int, session: SessionDep, user: CurrentStaff) -> NotificationRead:
    row = await service.do_mark_read(session=session, staff_id=user.id, notification_id=notification_id)
    return NotificationRead.model_validate(row, from_attributes=True)
