"""The demo bank: counts, determinism, valid numbers, realistic spread, staff and skill groups."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lingxi.agents.models import AgentSkill, SkillGroup
from lingxi.audit.models import AuditLog
from lingxi.auth import service as auth_service
from lingxi.auth.models import StaffUser
from lingxi.core.errors import Conflict
from lingxi.customers.models import ContactPoint, Customer
from lingxi.demo import vocab
from lingxi.demo.generator import generate_demo_bank
from lingxi.demo.loader import load_demo_bank
from lingxi.demo.models import (
    DemoAccount,
    DemoCard,
    DemoCreditBill,
    DemoLoan,
    DemoTransaction,
    DemoWealthHolding,
)
from lingxi.demo.numbers import id_birth_date, id_check_digit, id_gender, is_luhn_valid, is_valid_id_number
from tests.demo.fixtures import PG_URL, TODAY, load_into_new_file


def test_check_digit_functions():
    assert id_check_digit("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491331002X")  # month 13
    assert is_luhn_valid("4111111111111111")
    assert not is_luhn_valid("4111111111111112")


async def test_loader_counts(demo_bank, demo_session):
    counts = demo_bank.counts or {}
    if counts:  # SQLite: the counts of the one load
        assert counts["customers"] == 240
        assert counts["staff"] == 26
        assert counts["skill_groups"] == 6
        assert counts["transactions"] > 15_000
        print(f"\ndemo bank load: {counts['milliseconds']} ms, {counts}")
    s = demo_session
    assert await s.scalar(select(func.count()).select_from(Customer)) == 240
    for model, minimum in [
        (DemoAccount, 240),
        (DemoCard, 300),
        (DemoTransaction, 15_000),
        (DemoCreditBill, 200),
        (DemoLoan, 30),
        (DemoWealthHolding, 100),
        (ContactPoint, 480),
    ]:
        assert await s.scalar(select(func.count()).select_from(model)) >= minimum, model.__name__
    audit = await s.scalar(select(AuditLog).where(AuditLog.action == "demo.load"))
    assert audit is not None and audit.after["customers"] == 240


async def test_second_load_is_skipped_and_force_refuses_duplicates(demo_db):
    assert await load_demo_bank(today=TODAY) == {"skipped": 1, "customers": 240, "faq_entries": 0}
    with pytest.raises(Conflict):
        await load_demo_bank(today=TODAY, force=True)


def _rows(items):
    return [{k: v for k, v in vars(item).items() if not k.startswith("_")} for item in items]


@pytest.mark.skipif(bool(PG_URL), reason="compares two SQLite files")
async def test_two_loads_into_fresh_databases_are_identical(demo_bank, schema_template, tmp_root: Path, db):
    second = tmp_root / "demo-second.db"
    await load_into_new_file(schema_template, second)
    from lingxi.core.db import Database
    from lingxi.settings import Settings

    tables = {}
    for path in (demo_bank.path, second):
        database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
        async with database.sessionmaker() as s:
            customers = _rows((await s.scalars(select(Customer).order_by(Customer.id))).all())
            points = _rows((await s.scalars(select(ContactPoint).order_by(ContactPoint.id))).all())
            accounts = _rows((await s.scalars(select(DemoAccount).order_by(DemoAccount.id))).all())
            cards = _rows((await s.scalars(select(DemoCard).order_by(DemoCard.id))).all())
            tx = (await s.execute(select(func.count(), func.sum(DemoTransaction.amount)))).one()
        await database.dispose()
        tables[path] = (customers, points, accounts, cards, tuple(tx))
    first, again = tables[demo_bank.path], tables[second]
    assert first[0] == again[0]  # identical customer rows (ids and timestamps included)
    assert first[1:] == again[1:]


def test_customer_rows_do_not_depend_on_the_load_date():
    a = generate_demo_bank(today=date(2026, 11, 30), count=40)
    b = generate_demo_bank(today=date(2027, 3, 15), count=40)
    assert [x.customer for x in a] == [x.customer for x in b]
    assert [x.contact_points for x in a] == [x.contact_points for x in b]
    # activity moves with the load date
    last_a = max(t["booked_at"] for t in a[0].accounts[0].transactions)
    last_b = max(t["booked_at"] for t in b[0].accounts[0].transactions)
    assert last_b - last_a > timedelta(days=100)


async def test_identity_numbers_phones_and_names(demo_session):
    customers = (await demo_session.scalars(select(Customer))).all()
    prefixes = set(vocab.PHONE_PREFIXES)
    phones = [c.phone for c in customers]
    assert len(set(phones)) == len(phones)
    assert len({c.id_number for c in customers}) == len(customers)
    for c in customers:
        assert is_valid_id_number(c.id_number), c.id_number
        assert id_birth_date(c.id_number).isoformat() == c.birth_date
        assert id_gender(c.id_number) == c.gender
        age = (TODAY - date.fromisoformat(c.birth_date)).days // 365
        assert 18 <= age <= 84
        assert re.fullmatch(r"1\d{10}", c.phone) and c.phone[:3] in prefixes
        if c.email:
            assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]+", c.email), c.email
    english = [c for c in customers if c.language == "en"]
    assert len(english) >= 5
    assert all(
        c.name.isascii() and c.id_type == "foreign_resident" and c.id_number.startswith("9") for c in english
    )
    chinese = [c for c in customers if c.language == "zh-CN"]
    assert all(not c.name.isascii() and 2 <= len(c.name) <= 4 for c in chinese)
    surnames = Counter(c.name[0] for c in chinese)
    assert len(surnames) >= 40  # varied
    assert surnames.most_common(1)[0][0] in "王李张刘陈"  # but frequency weighted
    assert len({c.name[1:] for c in chinese}) >= 150  # varied given names
    assert sum(1 for c in customers if c.email) >= 60


async def test_tiers_segments_branches_and_consents(demo_session):
    customers = (await demo_session.scalars(select(Customer))).all()
    tiers = Counter(c.tier for c in customers)
    assert set(tiers) == {"standard", "gold", "platinum", "vip", "private"}
    assert (tiers["vip"] + tiers["private"]) / len(customers) >= 0.08
    assert len({c.segment for c in customers}) == 6
    regions = Counter(c.region for c in customers)
    assert set(regions) == {"北京分行", "上海分行", "深圳分行", "成都分行"}
    assert {c.branch_code[:2] for c in customers} == {"BJ", "SH", "SZ", "CD"}
    assert 0.3 < sum(c.consent_marketing for c in customers) / len(customers) < 0.6
    assert sum(c.consent_service_notice for c in customers) > 200


async def test_contact_points(demo_session):
    points = (await demo_session.scalars(select(ContactPoint))).all()
    customers = {c.id: c for c in (await demo_session.scalars(select(Customer))).all()}
    by_kind = Counter(p.kind for p in points)
    assert by_kind["app_user"] == by_kind["phone"] == 240
    assert 0.5 <= by_kind["wechat_openid"] / 240 <= 0.7
    for p in points:
        if p.kind == "app_user":
            assert p.value == customers[p.customer_id].customer_no
        elif p.kind == "phone":
            assert p.value == customers[p.customer_id].phone
        else:
            assert re.fullmatch(r"oDemo[A-Za-z0-9_-]{23}", p.value)
        assert p.verified_at is not None


async def test_cards_are_luhn_valid_on_realistic_bins(demo_session):
    cards = (await demo_session.scalars(select(DemoCard))).all()
    debit_bins = {b for b, _ in vocab.DEBIT_CARDS.values()}
    credit_bins = {v[0] for v in vocab.CREDIT_CARDS.values()}
    for card in cards:
        assert is_luhn_valid(card.card_no), card.card_no
        if card.kind == "debit":
            assert len(card.card_no) == 19 and card.card_no[:6] in debit_bins and card.account_id
        else:
            assert len(card.card_no) == 16 and card.card_no[:6] in credit_bins and card.credit_limit
        assert re.fullmatch(r"(0[1-9]|1[0-2])/\d\d", card.expires)
    statuses = Counter(c.status for c in cards)
    assert statuses["lost"] >= 2 and statuses["expired"] >= 2 and statuses["active"] > 250
    for card in cards:
        month, year = card.expires.split("/")
        expiry_end = date(2000 + int(year), int(month), 1) + timedelta(days=31)
        if card.status == "expired":
            assert expiry_end <= TODAY + timedelta(days=31)
        elif card.status == "active":
            assert expiry_end > TODAY


async def test_accounts_and_transactions(demo_session):
    accounts = (await demo_session.scalars(select(DemoAccount))).all()
    kinds = Counter(a.kind for a in accounts)
    assert kinds["debit_i"] == 240 and kinds["debit_ii"] > 30 and kinds["time_deposit"] > 40
    medians = {}
    customers = {c.id: c for c in (await demo_session.scalars(select(Customer))).all()}
    for tier in ("standard", "vip"):
        balances = sorted(
            a.balance for a in accounts if a.kind == "debit_i" and customers[a.customer_id].tier == tier
        )
        medians[tier] = balances[len(balances) // 2]
    assert medians["vip"] > 20 * medians["standard"]  # spread by tier
    counterparties: set[str] = set()
    for account in [a for a in accounts if a.kind == "debit_i"][:60]:
        txs = (
            await demo_session.scalars(
                select(DemoTransaction)
                .where(DemoTransaction.account_id == account.id)
                .order_by(DemoTransaction.id)
            )
        ).all()
        assert txs, account.account_no
        span = (max(t.booked_at for t in txs) - min(t.booked_at for t in txs)).days
        assert 20 <= span <= 61
        assert all(t.balance_after is not None and t.balance_after >= 0 for t in txs)
        running = txs[0].balance_after - txs[0].amount
        for t in txs:
            running += t.amount
            assert running == t.balance_after
        assert txs[-1].balance_after == account.balance
        assert max(t.booked_at for t in txs).date() < TODAY + timedelta(days=1)
        counterparties |= {t.counterparty for t in txs}
    for name in ("美团外卖", "京东商城", "滴滴出行"):
        assert name in counterparties
    assert any("房租" in c for c in counterparties)
    descriptions = set((await demo_session.scalars(select(DemoTransaction.description).distinct())).all())
    assert {"代发工资", "代扣电费", "跨行转账", "信用卡还款"} <= descriptions


async def test_credit_bills(demo_session):
    bills = (await demo_session.scalars(select(DemoCreditBill))).all()
    per_card = Counter(b.card_id for b in bills)
    assert set(per_card.values()) == {3}
    categories = set()
    for bill in bills:
        assert bill.items
        assert sum(Decimal(i["amount"]) for i in bill.items) == bill.total
        assert bill.minimum_payment <= bill.total and bill.due_date > bill.statement_date
        categories |= {i["category"] for i in bill.items}
        assert bill.statement_date < TODAY
    assert {"餐饮美食", "网购", "交通出行"} <= categories
    overdue = [b for b in bills if b.due_date < TODAY and b.paid < b.minimum_payment]
    assert overdue  # the demo has overdue bills (赵磊, C0000007, among them)


async def test_loans_and_wealth(demo_session):
    loans = (await demo_session.scalars(select(DemoLoan))).all()
    assert {x.product for x in loans} == {"住房贷款", "消费贷", "经营贷"}
    applying = [x for x in loans if x.status == "applying"]
    assert len(applying) >= 5 and all(x.stage for x in applying)
    for loan in loans:
        assert loan.outstanding <= loan.principal
        if loan.status == "repaying":
            assert loan.next_due_on and loan.next_due_on > TODAY and loan.next_due_amount
    holdings = (await demo_session.scalars(select(DemoWealthHolding))).all()
    assert {h.risk_level for h in holdings} == {"R1", "R2", "R3", "R4", "R5"}
    rules = " ".join(h.redemption_rule for h in holdings)
    assert "T+1 到账" in rules and "封闭期至" in rules
    assert any(not h.redeemable for h in holdings)


async def test_staff_and_skill_groups(demo_session):
    s = demo_session
    users = {u.username: u for u in (await s.scalars(select(StaffUser))).all()}
    expected = {f"agent{n:02d}" for n in range(1, 13)} | {
        "supervisor01",
        "supervisor02",
        *(f"backoffice{n:02d}" for n in range(1, 9)),
        "kadmin",
        "kadmin2",
        "admin",
        "auditor",
    }
    assert set(users) == expected
    assert users["backoffice01"].branch_code == "BJ001" and users["backoffice01"].role == "back_office"
    assert users["backoffice02"].branch_code is None
    assert users["kadmin"].role == "knowledge_admin" and users["auditor"].role == "auditor"
    assert users["kadmin2"].role == "knowledge_admin"  # the second pair of eyes for the knowledge base
    assert all(users[f"agent{n:02d}"].branch_code is None for n in range(1, 13))
    assert "en" in users["agent11"].languages
    user = await auth_service.do_login(session=s, username="agent01", password=vocab.DEMO_PASSWORD, ip=None)
    assert user.username == "agent01"
    groups = {g.code: g for g in (await s.scalars(select(SkillGroup))).all()}
    assert set(groups) == {"general", "credit_card", "loans_wealth", "vip", "fraud_risk", "english"}
    assert groups["vip"].name_zh == "VIP专席"
    skills = (await s.scalars(select(AgentSkill))).all()
    members = Counter(sk.skill_group_id for sk in skills)
    assert all(members[g.id] >= 2 for g in groups.values())
    english = {sk.agent_id for sk in skills if sk.skill_group_id == groups["english"].id}
    assert {users["agent11"].id, users["agent12"].id} <= english
    assert all(1 <= sk.proficiency <= 5 for sk in skills)


async def test_personas(demo_session):
    by_no = {c.customer_no: c for c in (await demo_session.scalars(select(Customer))).all()}
    assert by_no["C0000001"].name == "张伟"
    assert by_no["C0000005"].name == "James Wilson" and by_no["C0000005"].language == "en"
    assert by_no["C0000006"].tier == "private"
