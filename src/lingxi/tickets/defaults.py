"""Starting configuration of the work-order domain: business calendars, SLA policies, automation rules.

`do_install_defaults` adds what is missing (by code / name) and leaves existing rows alone, so a
bank can edit the rows afterwards and run it again safely. The holiday lists are examples: a bank
loads the State Council's published schedule for each year (holidays and make-up working days).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.audit.service import do_record
from lingxi.core.actor import Actor
from lingxi.tickets.models import AutomationRule, BusinessCalendar, CalendarDay, SlaPolicy
from lingxi.tickets.sla import WEEKDAYS

WORKDAY = [["08:00", "17:00"]]
BRANCH_DAY = [["09:00", "17:00"]]

# (date, name, hours): [] = closed, hours = a make-up working day (调休上班).
HOLIDAYS_EXAMPLE: tuple[tuple[date, str, list[list[str]]], ...] = (
    (date(2027, 1, 1), "元旦", []),
    (date(2027, 2, 5), "春节", []),
    (date(2027, 2, 8), "春节", []),
    (date(2027, 2, 9), "春节", []),
    (date(2027, 2, 10), "春节", []),
    (date(2027, 2, 11), "春节", []),
    (date(2027, 2, 20), "春节调休上班", WORKDAY),
)

CALENDARS: tuple[dict[str, Any], ...] = (
    {
        "code": "CN-HO",
        "name": "总行工作日历（周一至周五 08:00–17:00）",
        "region": None,
        "week": {day: WORKDAY for day in WEEKDAYS[:5]},
        "holidays": True,
    },
    {
        "code": "CN-BRANCH",
        "name": "分行网点日历（周一至周五 09:00–17:00，周六 09:00–12:00）",
        "region": None,
        "week": {**{day: BRANCH_DAY for day in WEEKDAYS[:5]}, "sat": [["09:00", "12:00"]]},
        "holidays": True,
    },
    {
        "code": "CN-24x7",
        "name": "全天候（反欺诈与资金安全）",
        "region": None,
        "week": {day: [["00:00", "24:00"]] for day in WEEKDAYS},
        "holidays": False,
    },
)

# name, type, priority, tier, first response, resolution (working minutes), warn share, calendar,
# escalation (working minutes after the due time for levels 1..4)
POLICIES: tuple[
    tuple[str, str | None, str | None, str | None, int, int, float, str | None, list[int]], ...
] = (
    ("默认时限", None, None, None, 240, 1620, 0.75, None, [0, 240, 540, 1080]),
    ("欺诈/盗刷：24 小时全天候", "fraud", None, None, 15, 1440, 0.5, "CN-24x7", [0, 60, 240, 480]),
    ("投诉：3 个工作日", "complaint", None, None, 120, 1620, 0.75, None, [0, 240, 540, 1080]),
    ("VIP 投诉：2 个工作日", "complaint", None, "vip", 60, 1080, 0.7, None, [0, 120, 240, 540]),
    ("私行投诉：2 个工作日", "complaint", None, "private", 60, 1080, 0.7, None, [0, 120, 240, 540]),
    ("业务办理：4 个工作小时", "request", None, None, 60, 240, 0.75, None, [0, 120, 480, 960]),
    ("紧急业务办理：2 个工作小时", "request", "urgent", None, 30, 120, 0.75, None, [0, 60, 240, 480]),
    ("咨询：1 个工作日", "inquiry", None, None, 120, 540, 0.75, None, [0, 240, 540, 1080]),
    ("技术故障：2 个工作日", "technical", None, None, 120, 1080, 0.75, None, [0, 240, 540, 1080]),
)

AUTOMATION: tuple[dict[str, Any], ...] = (
    {
        "code": "card-replacement",
        "name": "换卡申请自动提交核心系统",
        "type": "request",
        "category": "card_replacement",
        "conditions": {"request_kind": "card_replacement"},
        "action": "card_replacement_dispatch",
    },
)


async def do_install_defaults(*, session: AsyncSession, actor: Actor) -> dict[str, int]:
    """Add the default calendars, SLA policies and automation rules that do not exist yet."""
    added = {"calendars": 0, "calendar_days": 0, "sla_policies": 0, "automation_rules": 0}
    for spec in CALENDARS:
        if await session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.code == spec["code"])):
            continue
        calendar = BusinessCalendar(
            code=spec["code"],
            name=spec["name"],
            timezone="Asia/Shanghai",
            region=spec["region"],
            week=spec["week"],
        )
        session.add(calendar)
        await session.flush()
        added["calendars"] += 1
        if spec["holidays"]:
            for day, name, hours in HOLIDAYS_EXAMPLE:
                session.add(CalendarDay(calendar_id=calendar.id, day=day, name=name, hours=hours))
                added["calendar_days"] += 1
    existing = set((await session.scalars(select(SlaPolicy.name))).all())
    for name, type_, priority, tier, first, resolution, warn, calendar_code, escalation in POLICIES:
        if name in existing:
            continue
        session.add(
            SlaPolicy(
                name=name,
                type=type_,
                priority=priority,
                tier=tier,
                first_response_minutes=first,
                resolution_minutes=resolution,
                warn_ratio=warn,
                calendar_code=calendar_code,
                escalation_minutes=escalation,
            )
        )
        added["sla_policies"] += 1
    for rule in AUTOMATION:
        if await session.scalar(select(AutomationRule.id).where(AutomationRule.code == rule["code"])):
            continue
        session.add(AutomationRule(**rule))
        added["automation_rules"] += 1
    await session.flush()
    if any(added.values()):
        do_record(
            session=session,
            actor=actor,
            action="ticket.install_defaults",
            subject_type="ticket_config",
            subject_id="defaults",
            after=added,
        )
    return added
