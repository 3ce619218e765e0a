"""Loads the demo bank into the configured database: customers, core-banking data, staff and skill groups,
and the published FAQ knowledge base.

`lingxi demo` (and `make run`) call `load_demo_bank()`; it loads no customers when customers exist unless
`force=True` (demo FAQ entries that are missing are still published). Rows go in with bulk INSERTs (ids
come back with RETURNING), so the load takes a few seconds on SQLite; most of the time is the argon2
hashing of the staff passwords.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.agents.models import AgentSkill, CannedResponse, SkillGroup
from lingxi.audit.service import do_record
from lingxi.auth.service import do_create_staff, get_staff_by_username, hash_password
from lingxi.core.actor import Actor
from lingxi.core.db import get_database
from lingxi.core.errors import Conflict
from lingxi.customers.models import ContactPoint, Customer
from lingxi.customers.service import bank_today
from lingxi.demo import vocab
from lingxi.demo.generator import DEFAULT_CUSTOMERS, CustomerBundle, generate_demo_bank
from lingxi.demo.knowledge import load_demo_knowledge
from lingxi.demo.models import (
    DemoAccount,
    DemoCard,
    DemoCreditBill,
    DemoLoan,
    DemoServiceRequest,
    DemoTransaction,
    DemoWealthHolding,
)
from lingxi.demo.tickets import load_work_orders

log = logging.getLogger("lingxi.demo")
LOADER_ACTOR = Actor.system("demo-loader")


async def load_demo_bank(
    *, force: bool = False, today: date | None = None, customers: int = DEFAULT_CUSTOMERS
) -> dict[str, int]:
    """Load the demo bank; returns row counts (and {"skipped": 1, "customers": n} when data exists).

    `today` anchors statements, bills, loan schedules and card expiry (default: the bank's today);
    customer rows do not depend on it. With `force`, customers are loaded even when others exist
    (a Conflict is raised if the demo customers themselves are already there); staff users and
    skill groups that exist are left as they are.
    """
    started = time.perf_counter()
    async with get_database().sessionmaker() as session:
        existing = int(await session.scalar(select(func.count()).select_from(Customer)) or 0)
        if existing and not force:
            # A bank loaded before the knowledge base existed still gets the demo FAQ.
            knowledge = await load_demo_knowledge(session=session, actor=LOADER_ACTOR)
            await session.commit()
            return {"skipped": 1, "customers": existing, **knowledge}
        bundles = generate_demo_bank(today=today or bank_today(), count=customers)
        numbers = [b.customer["customer_no"] for b in bundles]
        clash = await session.scalar(select(func.count()).where(Customer.customer_no.in_(numbers)))
        if clash:
            raise Conflict(
                f"The demo customers are already loaded ({clash} of {len(numbers)} customer numbers exist).",
                code="demo_already_loaded",
            )
        counts = await insert_bundles(session=session, bundles=bundles)
        counts.update(await load_staff(session=session))
        counts.update(await load_demo_knowledge(session=session, actor=LOADER_ACTOR))
        counts.update(await load_work_orders(session=session, actor=LOADER_ACTOR))
        do_record(
            session=session,
            actor=LOADER_ACTOR,
            action="demo.load",
            subject_type="demo_bank",
            subject_id="demo",
            after={k: v for k, v in counts.items()},
        )
        await session.commit()
    counts["skipped"] = 0
    counts["milliseconds"] = int((time.perf_counter() - started) * 1000)
    log.info("demo bank loaded: %s", counts)
    return counts


async def _insert_returning(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list((await session.scalars(stmt, list(rows))).all())


async def _insert(session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(model), list(rows))


async def insert_bundles(*, session: AsyncSession, bundles: Sequence[CustomerBundle]) -> dict[str, int]:
    """Insert generated customers and their core-banking rows in bulk; returns counts per table."""
    customer_ids = await _insert_returning(session, Customer, [b.customer for b in bundles])
    points: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    account_keys: list[tuple[int, int]] = []
    for n, (bundle, customer_id) in enumerate(zip(bundles, customer_ids, strict=True)):
        points += [{**p, "customer_id": customer_id} for p in bundle.contact_points]
        for a, account in enumerate(bundle.accounts):
            accounts.append({**account.row, "customer_id": customer_id})
            account_keys.append((n, a))
    await _insert(session, ContactPoint, points)
    account_ids = dict(
        zip(account_keys, await _insert_returning(session, DemoAccount, accounts), strict=True)
    )

    cards: list[dict[str, Any]] = []
    card_keys: list[tuple[int, int]] = []
    transactions: list[dict[str, Any]] = []
    loans: list[dict[str, Any]] = []
    holdings: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    for n, (bundle, customer_id) in enumerate(zip(bundles, customer_ids, strict=True)):
        for c, card in enumerate(bundle.cards):
            account_id = account_ids[(n, card.account_index)] if card.account_index is not None else None
            cards.append({**card.row, "customer_id": customer_id, "account_id": account_id})
            card_keys.append((n, c))
        for a, account in enumerate(bundle.accounts):
            account_id = account_ids[(n, a)]
            transactions += [{**t, "account_id": account_id, "card_id": None} for t in account.transactions]
        loans += [{**loan, "customer_id": customer_id} for loan in bundle.loans]
        holdings += [{**h, "customer_id": customer_id} for h in bundle.holdings]
        applications += [{**a, "customer_id": customer_id} for a in bundle.applications]
    card_ids = dict(zip(card_keys, await _insert_returning(session, DemoCard, cards), strict=True))

    bills: list[dict[str, Any]] = []
    for n, bundle in enumerate(bundles):
        for c, card in enumerate(bundle.cards):
            card_id = card_ids[(n, c)]
            transactions += [{**t, "account_id": None, "card_id": card_id} for t in card.transactions]
            bills += [{**bill, "card_id": card_id} for bill in card.bills]
    await _insert(session, DemoTransaction, transactions)
    await _insert(session, DemoCreditBill, bills)
    await _insert(session, DemoLoan, loans)
    await _insert(session, DemoWealthHolding, holdings)
    await _insert(session, DemoServiceRequest, applications)
    await session.flush()
    return {
        "customers": len(customer_ids),
        "contact_points": len(points),
        "accounts": len(accounts),
        "cards": len(cards),
        "transactions": len(transactions),
        "credit_bills": len(bills),
        "loans": len(loans),
        "wealth_holdings": len(holdings),
        "applications": len(applications),
    }


async def load_staff(*, session: AsyncSession) -> dict[str, int]:
    """Skill groups and the demo staff (password vocab.DEMO_PASSWORD); existing ones are kept."""
    groups: dict[str, int] = {
        code: gid for code, gid in (await session.execute(select(SkillGroup.code, SkillGroup.id))).all()
    }
    created: set[str] = set()
    for code, name_zh, name_en, description in vocab.SKILL_GROUPS:
        if code not in groups:
            group = SkillGroup(code=code, name_zh=name_zh, name_en=name_en, description=description)
            session.add(group)
            await session.flush()
            groups[code] = group.id
            created.add(code)
            do_record(
                session=session,
                actor=LOADER_ACTOR,
                action="skill_group.create",
                subject_type="skill_group",
                subject_id=group.id,
                after={"code": code, "name_zh": name_zh},
            )
    # Groups created now get the demo's routing settings; existing ones keep what was set since.
    for code, (strategy, max_wait, overflow, timeout_action, sl_seconds) in vocab.GROUP_ROUTING.items():
        routed = await session.get(SkillGroup, groups[code]) if code in created else None
        if routed is not None:
            routed.strategy, routed.max_wait_seconds, routed.overflow_group = strategy, max_wait, overflow
            routed.timeout_action, routed.service_level_seconds = timeout_action, sl_seconds
    existing_canned = set(
        (await session.scalars(select(CannedResponse.title).where(CannedResponse.owner_id.is_(None)))).all()
    )
    new_canned = 0
    for title, shortcut, group_code, language, content in vocab.CANNED_RESPONSES:
        if title not in existing_canned:
            session.add(
                CannedResponse(
                    title=title, shortcut=shortcut, skill_group=group_code, language=language, content=content
                )
            )
            new_canned += 1
    new_staff = new_skills = 0
    password_hash = hash_password(vocab.DEMO_PASSWORD)  # argon2 is slow on purpose: hash once
    for username, display_name, role, branch, department, languages, max_chats, skills in vocab.STAFF:
        if await get_staff_by_username(session=session, username=username):
            continue
        user = await do_create_staff(
            session=session,
            actor=LOADER_ACTOR,
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            branch_code=branch,
            department=department,
            languages=languages,
            max_concurrent_chats=max_chats,
        )
        new_staff += 1
        for code, proficiency in skills.items():
            session.add(AgentSkill(agent_id=user.id, skill_group_id=groups[code], proficiency=proficiency))
            new_skills += 1
    await session.flush()
    return {
        "skill_groups": len(created),
        "staff": new_staff,
        "agent_skills": new_skills,
        "canned_responses": new_canned,
    }
