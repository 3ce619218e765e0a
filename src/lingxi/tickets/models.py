"""Tables of the work-order domain: orders, their timeline and attachments, teams, dispatch rules, SLA
policies and business calendars, hot-issue alerts and automation rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow


class Ticket(Base):
    """A work order. SLA deadlines live on the row; `sla_next_check_at` is the earliest moment the SLA
    sweep has something to do for it (warning, breach, next escalation level, auto-close), NULL when
    nothing is pending (paused, finished) — one indexed range query finds every order that is due."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_sla_next_check", "sla_next_check_at"),
        Index("ix_tickets_customer_created", "customer_id", "created_at"),
        Index("ix_tickets_team_status", "team_id", "status", "due_at"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_branch_status", "branch_code", "status"),
        Index("ix_tickets_category_created", "category", "created_at"),
        Index("ix_tickets_parent", "parent_id"),
        Index("ix_tickets_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(60))
    product: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="new")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    region: Mapped[str | None] = mapped_column(String(40), default=None)
    source: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20), default=None)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), default=None)
    created_by_type: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[str] = mapped_column(String(64))

    team_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_teams.id"), default=None)
    branch_code: Mapped[str | None] = mapped_column(String(20), default=None)  # the team's branch scope
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)
    open_subtasks: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), default=None)

    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    urge_count: Mapped[int] = mapped_column(default=0)
    last_urged_at: Mapped[datetime | None] = mapped_column(default=None)
    reopen_count: Mapped[int] = mapped_column(default=0)
    rating: Mapped[int | None] = mapped_column(default=None)
    rating_comment: Mapped[str | None] = mapped_column(String(500), default=None)
    rated_at: Mapped[datetime | None] = mapped_column(default=None)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    # SLA: targets in working minutes of `sla_calendar`; deadlines as UTC instants.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_sla_policies.id"), default=None)
    sla_calendar: Mapped[str | None] = mapped_column(String(40), default=None)
    first_response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    first_response_met: Mapped[bool | None] = mapped_column(default=None)
    warn_at: Mapped[datetime | None] = mapped_column(default=None)
    warned_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution_met: Mapped[bool | None] = mapped_column(default=None)
    breached_at: Mapped[datetime | None] = mapped_column(default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_paused_at: Mapped[datetime | None] = mapped_column(default=None)
    auto_close_at: Mapped[datetime | None] = mapped_column(default=None)
    sla_next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    # Optimistic locking: two people acting on the same order at once — the second gets 409.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative attribute)


class TicketEvent(Base):
    """One step on an order's timeline. `visibility` decides whether the customer ever sees it."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    to_status: Mapped[str | None] = mapped_column(String(20), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10), default="internal")
    data: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"
    __table_args__ = (Index("ix_ticket_attachments_ticket", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    visibility: Mapped[str] = mapped_column(String(10), default="customer")
    uploaded_by_type: Mapped[str] = mapped_column(String(10))
    uploaded_by_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketTeam(Base):
    """A head-office department (kind "department") or a branch team (kind "branch", with branch_code).
    Escalation: level 2 goes to the team's lead, level 3 to the department head (the lead of the
    parent team, or `head_id`)."""

    __tablename__ = "ticket_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="department")
    branch_code: Mapped[str | None] = mapped_column(String(20), default=None)
    region: Mapped[str | None] = mapped_column(String(40), default=None)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_teams.id"), default=None)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    calendar_code: Mapped[str | None] = mapped_column(String(40), default=None)
    active: Mapped[bool] = mapped_column(default=True)


class TicketTeamMember(Base):
    __tablename__ = "ticket_team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "staff_id"),
        Index("ix_ticket_team_members_staff", "staff_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ticket_teams.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))


class DispatchRule(Base):
    """First matching rule (lowest position) decides the team. Empty conditions match anything;
    `to_customer_branch` sends the order to the branch team of the customer's branch."""

    __tablename__ = "ticket_dispatch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(default=100)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str | None] = mapped_column(String(20), default=None)
    category: Mapped[str | None] = mapped_column(String(60), default=None)
    product: Mapped[str | None] = mapped_column(String(30), default=None)
    region: Mapped[str | None] = mapped_column(String(40), default=None)
    branch_code: Mapped[str | None] = mapped_column(String(20), default=None)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_teams.id"), default=None)
    to_customer_branch: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class BusinessCalendar(Base):
    """Working hours per weekday ({"mon": [["08:00", "17:00"]], …}) in a time zone, for a region."""

    __tablename__ = "ticket_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    region: Mapped[str | None] = mapped_column(String(40), default=None)
    week: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CalendarDay(Base):
    """An exception to the week: a holiday (no hours) or a make-up working day (调休) with its hours."""

    __tablename__ = "ticket_calendar_days"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("ticket_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(60), default="")
    hours: Mapped[list[Any]] = mapped_column(default=list)  # [] = closed all day


class SlaPolicy(Base):
    """Targets in working minutes. NULL type/priority/tier match anything; the most specific wins."""

    __tablename__ = "ticket_sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str | None] = mapped_column(String(20), default=None)
    priority: Mapped[str | None] = mapped_column(String(10), default=None)
    tier: Mapped[str | None] = mapped_column(String(20), default=None)
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    warn_ratio: Mapped[float] = mapped_column(Float, default=0.75)
    calendar_code: Mapped[str | None] = mapped_column(String(40), default=None)
    # Working minutes after the due time at which escalation levels 1..4 fire, e.g. [0, 120, 480, 960].
    escalation_minutes: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)


class HotIssue(Base):
    """Many similar orders from different customers in a short window: an alert for supervisors."""

    __tablename__ = "ticket_hot_issues"
    __table_args__ = (Index("ix_ticket_hot_issues_category_status", "category", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(String(200))
    ticket_ids: Mapped[list[Any]] = mapped_column(default=list)
    customer_count: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | acknowledged
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)


class AutomationRule(Base):
    """A rule that completes simple orders without a person (action names a registered handler)."""

    __tablename__ = "ticket_automation_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str | None] = mapped_column(String(20), default=None)
    category: Mapped[str | None] = mapped_column(String(60), default=None)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)  # field name -> required value
    action: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
