"""Notifications: customer notices on the customer's channel, honouring consent and quiet hours, and
console notices for staff.

Customer notices are stored first (`notifications` row, in the caller's transaction) and delivered
after commit by the outbox (`notification.deliver`), so a rolled-back change never notifies anyone
and a crash between commit and delivery only delays the notice. The channel is chosen at delivery:

1. WeChat customer-service message, when the order came from WeChat (or the customer prefers it) and
   the customer wrote on WeChat within the allowed window (48 hours);
2. app push, for the app/web channel (or when preferred) and a customer with a bank-app identity;
3. SMS to the registered mobile otherwise.

Customers who withdrew consent to service notices get none (status `skipped`); they still see every
change on the H5 page. Non-urgent notices created in quiet hours (default 21:00–08:00 bank time)
are `deferred` until the quiet hours end and sent by the periodic job `notifications.flush`.
Staff notices are rows the console lists, announced live on the staff member's socket channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.conversations import service as conversations
from lingxi.core.db import after_commit
from lingxi.core.errors import NotFound
from lingxi.core.events import emit
from lingxi.core.realtime import get_broker
from lingxi.core.timeutil import as_utc, utcnow
from lingxi.customers import service as customers
from lingxi.notifications.adapters.ports import get_port
from lingxi.notifications.models import Notification
from lingxi.settings import get_settings

log = logging.getLogger("lingxi.notifications")

DELIVER_TOPIC = "notification.deliver"
MAX_CONTENT = 500
_SILENCED = "notifications_silenced"


def silence_customer_notices(session: AsyncSession, reason: str) -> None:
    """Record customer notices of this session as skipped instead of sending them (loading history,
    e.g. the demo's past work orders: nobody should be told today about last week's steps)."""
    session.info[_SILENCED] = reason


# --- quiet hours -----------------------------------------------------------------------------------


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":", 1)
    return time(int(hours), int(minutes))


def quiet_until(now: datetime | None = None) -> datetime | None:
    """The UTC moment the current quiet hours end, or None outside quiet hours."""
    settings = get_settings()
    zone = ZoneInfo(settings.bank_timezone)
    local = (now or utcnow()).astimezone(zone)
    start, end = _hhmm(settings.quiet_hours_start), _hhmm(settings.quiet_hours_end)
    if start == end:
        return None
    clock = local.time()
    if start < end:  # e.g. 00:00-07:00
        inside = start <= clock < end
        end_day = local.date()
    else:  # spans midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(ZoneInfo("UTC"))


# --- customer notices -------------------------------------------------------------------------------


async def do_notify_customer(
    *,
    session: AsyncSession,
    customer_id: int,
    topic: str,
    text: str,
    channel_hint: str | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    urgent: bool = False,
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Notification:
    """Queue a notice to a customer. `channel_hint` is the channel the matter came from (e.g. the work
    order's channel); `urgent` notices (fund safety) are not held back by quiet hours."""
    now = now or utcnow()
    hold = None if urgent else quiet_until(now)
    silenced: str | None = session.info.get(_SILENCED)
    notification = Notification(
        recipient_type="customer",
        recipient_id=customer_id,
        topic=topic,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        content=text[:MAX_CONTENT],
        meta=meta,
        channel_hint=channel_hint,
        urgent=urgent,
        status="skipped" if silenced else "deferred" if hold else "pending",
        send_after=hold,
        last_error=silenced,
        created_at=now,
    )
    session.add(notification)
    await session.flush()
    if hold is None and not silenced:
        emit(session, DELIVER_TOPIC, {"notification_id": notification.id})
    return notification


async def _wechat_window_open(session: AsyncSession, customer_id: int) -> bool:
    hours = get_settings().wechat_cs_window_hours
    last = await conversations.get_last_customer_message_at(
        session=session, customer_id=customer_id, channel="wechat"
    )
    return last is not None and as_utc(last) >= utcnow() - timedelta(hours=hours)


async def choose_channel(
    *, session: AsyncSession, customer_id: int, channel_hint: str | None
) -> tuple[str, str] | tuple[None, str]:
    """(channel, address) to reach the customer now, or (None, reason) when they cannot be reached."""
    customer = await customers.get_customer(session=session, customer_id=customer_id)
    if customer is None:
        return None, "no such customer"
    if not customer.consent_service_notice:
        return None, "customer declined service notices"
    points = {
        p.kind: p.value for p in await customers.list_contact_points(session=session, customer_id=customer_id)
    }
    wants = channel_hint or customer.preferred_channel
    if (wants == "wechat" or customer.preferred_channel == "wechat") and "wechat_openid" in points:
        if await _wechat_window_open(session, customer_id):
            return "wechat_cs", points["wechat_openid"]
    if wants in ("webchat", "app") and "app_user" in points:
        return "app_push", points["app_user"]
    if customer.phone:
        return "sms", customer.phone
    if "app_user" in points:
        return "app_push", points["app_user"]
    return None, "no reachable channel"


async def do_deliver(*, session: AsyncSession, notification_id: int) -> bool:
    """Send one pending customer notice now; True if sent. Idempotent (a sent notice is skipped)."""
    stmt = select(Notification).where(Notification.id == notification_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    notification = await session.scalar(stmt)
    if notification is None or notification.status != "pending" or notification.recipient_type != "customer":
        return False
    channel, address = await choose_channel(
        session=session, customer_id=notification.recipient_id, channel_hint=notification.channel_hint
    )
    if channel is None:
        notification.status = "skipped"
        notification.last_error = address
        await session.flush()
        return False
    await get_port(channel).send(
        session=session,
        address=address,
        text=notification.content,
        meta={"notification_id": notification.id, "topic": notification.topic, **(notification.meta or {})},
    )
    notification.channel = channel
    notification.status = "sent"
    notification.sent_at = utcnow()
    await session.flush()
    return True


async def do_flush_deferred(*, session: AsyncSession, limit: int = 500, now: datetime | None = None) -> int:
    """Release deferred notices whose quiet hours are over (one indexed query); returns how many."""
    now = now or utcnow()
    if quiet_until(now) is not None:
        return 0
    ids = list(
        (
            await session.scalars(
                select(Notification.id)
                .where(Notification.status == "deferred", Notification.send_after <= now)
                .order_by(Notification.send_after)
                .limit(limit)
            )
        ).all()
    )
    if not ids:
        return 0
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.status == "deferred")
        .values(status="pending")
        .execution_options(synchronize_session=False)
    )
    for notification_id in ids:
        emit(session, DELIVER_TOPIC, {"notification_id": notification_id})
    return len(ids)


# --- staff notices ------------------------------------------------------------------------------------


async def do_notify_staff(
    *,
    session: AsyncSession,
    staff_ids: Sequence[int],
    topic: str,
    text: str,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    meta: dict[str, Any] | None = None,
) -> list[Notification]:
    """Console notices (no quiet hours: staff see them when they look); announced live after commit."""
    now = utcnow()
    rows = [
        Notification(
            recipient_type="staff",
            recipient_id=staff_id,
            topic=topic,
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id is not None else None,
            content=text[:MAX_CONTENT],
            meta=meta,
            channel="console",
            status="sent",
            sent_at=now,
            created_at=now,
        )
        for staff_id in dict.fromkeys(staff_ids)
    ]
    if not rows:
        return []
    session.add_all(rows)

    async def announce() -> None:  # ids exist once committed; no flush per notice on the way
        await get_broker().publish_batch(
            [
                ([f"agent:{r.recipient_id}"], {"type": "notification", "notification": notification_dict(r)})
                for r in rows
            ]
        )

    after_commit(session, announce)
    return rows


def notification_dict(row: Notification) -> dict[str, Any]:
    return {
        "id": row.id,
        "topic": row.topic,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "content": row.content,
        "meta": row.meta,
        "created_at": row.created_at.isoformat(),
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


async def list_staff_notifications(
    *, session: AsyncSession, staff_id: int, unread_only: bool = False, limit: int = 50
) -> Sequence[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.recipient_type == "staff", Notification.recipient_id == staff_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return (await session.scalars(stmt)).all()


async def count_unread(*, session: AsyncSession, staff_id: int) -> int:
    stmt = select(func.count()).where(
        Notification.recipient_type == "staff",
        Notification.recipient_id == staff_id,
        Notification.read_at.is_(None),
    )
    return int(await session.scalar(stmt) or 0)


async def do_mark_read(*, session: AsyncSession, staff_id: int, notification_id: int) -> Notification:
    row = await session.get(Notification, notification_id)
    if row is None or row.recipient_type != "staff" or row.recipient_id != staff_id:
        raise NotFound("No such notification.", code="notification_not_found")
    if row.read_at is None:
        row.read_at = utcnow()
        await session.flush()
    return row


async def list_customer_notifications(
    *, session: AsyncSession, customer_id: int, subject_type: str | None = None, limit: int = 50
) -> Sequence[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.recipient_type == "customer", Notification.recipient_id == customer_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    if subject_type:
        stmt = stmt.where(Notification.subject_type == subject_type)
    return (await session.scalars(stmt)).all()
