"""A small bank for the work-order tests: head-office departments, one branch team, dispatch rules, the
default calendars and SLA policies, staff with their roles and scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import lingxi.handlers  # noqa: F401  (outbox handlers: hot issues, automation, notice delivery)
from lingxi.core.actor import Actor
from lingxi.tickets import clock
from lingxi.tickets.defaults import do_install_defaults
from lingxi.tickets.models import DispatchRule, TicketTeam, TicketTeamMember

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_ACTOR = Actor(type="staff", id="1", name="测试员")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A bank-local wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Desk:
    teams: dict[str, int] = field(default_factory=dict)
    staff: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        user = self.staff[name]
        return Actor(type="staff", id=str(user.id), name=user.display_name, role=user.role)


_PASSWORD_HASH: str | None = None


@pytest.fixture
async def desk(db) -> Desk:
    """Staff are inserted directly with one argon2 hash made once (hashing per test is slow)."""
    from lingxi.auth.models import StaffUser
    from lingxi.auth.service import hash_password, issue_staff_token

    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password("Passw0rd!")
    desk = Desk()
    people = [
        ("handler", "back_office", None),
        ("lead", "back_office", None),
        ("head", "back_office", None),
        ("fraud", "back_office", None),
        ("bj", "back_office", "BJ001"),
        ("sup", "supervisor", None),
        ("agent", "agent", None),
        ("admin", "admin", None),
    ]
    async with db.sessionmaker() as s:
        for name, role, branch in people:
            user = StaffUser(
                username=f"t_{name}",
                display_name=f"员工{name}",
                password_hash=_PASSWORD_HASH,
                role=role,
                branch_code=branch,
            )
            s.add(user)
            await s.flush()
            desk.staff[name] = user
            desk.headers[name] = {"Authorization": f"Bearer {issue_staff_token(user)}"}
        await s.commit()
    async with db.sessionmaker() as s:
        await do_install_defaults(session=s, actor=Actor.system("test"))
        ops = TicketTeam(
            code="HO-OPS",
            name_zh="总行运营中心",
            name_en="Operations",
            lead_id=desk.staff["head"].id,
            calendar_code="CN-HO",
        )
        s.add(ops)
        await s.flush()
        card = TicketTeam(
            code="HO-CARD",
            name_zh="信用卡中心",
            name_en="Cards",
            parent_id=ops.id,
            lead_id=desk.staff["lead"].id,
            calendar_code="CN-HO",
        )
        fraud = TicketTeam(
            code="HO-FRAUD",
            name_zh="反欺诈中心",
            name_en="Fraud",
            parent_id=ops.id,
            lead_id=desk.staff["fraud"].id,
            calendar_code="CN-HO",
        )
        bj = TicketTeam(
            code="BR-BJ001",
            name_zh="北京分行营业部运营组",
            name_en="Beijing branch",
            kind="branch",
            branch_code="BJ001",
            region="北京分行",
            lead_id=desk.staff["bj"].id,
            calendar_code="CN-BRANCH",
        )
        s.add_all([card, fraud, bj])
        await s.flush()
        for team, member in [
            (ops, "handler"),
            (card, "handler"),
            (card, "lead"),
            (fraud, "fraud"),
            (bj, "bj"),
        ]:
            s.add(TicketTeamMember(team_id=team.id, staff_id=desk.staff[member].id))
        s.add_all(
            [
                DispatchRule(position=10, name="欺诈", type="fraud", team_id=fraud.id),
                DispatchRule(position=20, name="信用卡", product="credit_card", team_id=card.id),
                DispatchRule(
                    position=30, name="账户限制到网点", category="account_frozen", to_customer_branch=True
                ),
                DispatchRule(position=99, name="兜底", team_id=ops.id),
            ]
        )
        await s.commit()
        desk.teams = {t.code: t.id for t in (ops, card, fraud, bj)}
    return desk


async def new_ticket(session: Any, customer_id: int, **overrides: Any) -> Any:
    from lingxi.tickets import service

    values: dict[str, Any] = {
        "type": "request",
        "category": "bill_inquiry",
        "title": "申请开具近三个月信用卡账单",
        "description": "需要用于签证办理",
        "fields": {"request_kind": "statement"},
        "source": "staff",
        "channel": "phone",
        "conversation_id": None,
        "actor": STAFF_ACTOR,
    }
    values.update(overrides)
    ticket = await service.do_create_ticket(session=session, customer_id=customer_id, **values)
    await session.commit()
    return ticket


@pytest.fixture
def frozen_clock():
    """Freeze the work-order clock at a bank-local Monday 15:00 (2026-11-30) unless moved."""
    with clock.frozen(local(2026, 11, 30, 15, 0)):
        yield clock
