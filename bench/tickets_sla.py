"""SLA sweep at scale: N open work orders, D of them due; the one indexed query and a full sweep run.

    .venv/bin/python bench/tickets_sla.py                        # SQLite file under var/bench/
    .venv/bin/python bench/tickets_sla.py --database-url postgresql+asyncpg://127.0.0.1:5432/lingxi_bench

The database's tables are recreated: point it at a scratch database. Prints one JSON object:
the query plan (it must name ix_tickets_sla_next_check), the time of the due-orders query (median
and p95 of repeated runs, read-only) and one full sweep of the due orders (warning/breach/escalation
written with their timeline events, audit rows and staff notices), per order. Figures depend on the
machine; the plan is the point: one index range scan, whatever the number of open orders.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from lingxi.auth.models import StaffUser
from lingxi.core.db import Database
from lingxi.customers.models import Customer
from lingxi.models import Base
from lingxi.settings import PROJECT_ROOT, Settings
from lingxi.tickets import service
from lingxi.tickets.models import SlaPolicy, Ticket, TicketTeam, TicketTeamMember

CHUNK = 20_000
STATUSES = ("new", "assigned", "in_progress", "reopened")


def ticket_rows(
    start: int, count: int, due: set[int], now: datetime, team_id: int, policy_id: int
) -> list[dict[str, Any]]:
    rng = random.Random(start)
    rows = []
    for i in range(start, start + count):
        created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 20))
        if i in due:  # came due within the last hour
            check = now - timedelta(seconds=rng.randint(1, 3600))
        elif i % 10 == 0:  # paused (waiting for the customer): no check pending
            check = None
        else:
            check = now + timedelta(seconds=rng.randint(60, 30 * 24 * 3600))
        rows.append(
            {
                "ticket_no": f"GDBENCH{i:09d}",
                "type": "request",
                "category": "bill_inquiry",
                "product": "credit_card",
                "priority": "normal",
                "status": "pending_customer" if check is None else STATUSES[i % len(STATUSES)],
                "title": "账单问题",
                "description": "",
                "fields": {},
                "language": "zh-CN",
                "customer_id": 1,
                "source": "staff",
                "created_by_type": "system",
                "created_by_id": "bench",
                "team_id": team_id,
                "open_subtasks": 0,
                "urge_count": 0,
                "reopen_count": 0,
                "escalation_level": 0,
                "created_at": created,
                "updated_at": created,
                "sla_policy_id": policy_id,
                "first_responded_at": created,
                "first_response_met": True,
                "warned_at": None if check is None else created,
                "due_at": check,
                "sla_paused_at": now if check is None else None,
                "sla_next_check_at": check,
                "version": 1,
            }
        )
    return rows


async def setup(database: Database, orders: int, due_count: int, now: datetime) -> float:
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    async with database.sessionmaker() as s:
        s.add(
            Customer(
                customer_no="C9999999", name="压测客户", id_number="110101199001011234", phone="13800000000"
            )
        )
        lead = StaffUser(username="bench_lead", display_name="组长", password_hash="x", role="back_office")
        s.add(lead)
        await s.flush()
        team = TicketTeam(code="BENCH", name_zh="压测组", name_en="Bench", lead_id=lead.id)
        policy = SlaPolicy(
            name="bench", first_response_minutes=60, resolution_minutes=240, escalation_minutes=[0, 120]
        )
        s.add_all([team, policy])
        await s.flush()
        s.add(TicketTeamMember(team_id=team.id, staff_id=lead.id))
        await s.commit()
        team_id, policy_id = team.id, policy.id
    due = set(random.Random(7).sample(range(orders), due_count))
    started = time.perf_counter()
    columns = list(ticket_rows(0, 1, set(), now, team_id, policy_id)[0])
    async with database.engine.begin() as conn:
        for start in range(0, orders, CHUNK):
            rows = ticket_rows(start, min(CHUNK, orders - start), due, now, team_id, policy_id)
            if database.settings.is_sqlite:
                await conn.execute(insert(Ticket), rows)
            else:  # COPY: a million rows in seconds instead of minutes
                raw = await conn.get_raw_connection()
                records = [tuple(json.dumps(r[c]) if c == "fields" else r[c] for c in columns) for r in rows]
                await raw.driver_connection.copy_records_to_table("tickets", records=records, columns=columns)
    async with database.engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def explain(database: Database, now: datetime) -> list[str]:
    stmt = service.due_query(now, service.SWEEP_BATCH)
    compiled = str(stmt.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with database.engine.connect() as conn:
        if database.settings.is_sqlite:
            return [
                str(row[-1]) for row in (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
            ]
        return list((await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))).scalars().all())


async def time_query(database: Database, now: datetime, repeats: int) -> list[float]:
    times = []
    async with database.sessionmaker() as s:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = (await s.scalars(service.due_query(now, service.SWEEP_BATCH))).all()
            times.append((time.perf_counter() - started) * 1000)
            s.expunge_all()
        assert rows is not None
    return times


async def full_sweep(database: Database, now: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    total = service.SweepResult()
    runs = 0
    while True:
        async with database.sessionmaker() as s:
            result = await service.do_sla_sweep(session=s, now=now)
            await s.commit()
        runs += 1
        for name in total.__slots__:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if result.processed < service.SWEEP_BATCH:
            break
    seconds = time.perf_counter() - started
    return {
        "batches": runs,
        "processed": total.processed,
        "breaches": total.breaches,
        "escalations": total.escalations,
        "seconds": round(seconds, 3),
        "ms_per_order": round(seconds * 1000 / max(total.processed, 1), 3),
    }


async def run(url: str, orders: int, due: int, repeats: int) -> dict[str, Any]:
    database = Database(Settings(database_url=url))
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        insert_seconds = await setup(database, orders, due, now)
        plan = await explain(database, now)
        times = await time_query(database, now, repeats)
        sweep = await full_sweep(database, now)
        after = await time_query(database, now, 3)
    finally:
        await database.dispose()
    return {
        "benchmark": "tickets_sla",
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "open_orders": orders,
        "due_orders": due,
        "insert_seconds": round(insert_seconds, 1),
        "query": {
            "sql": "SELECT … FROM tickets WHERE sla_next_check_at <= :now"
            " ORDER BY sla_next_check_at LIMIT 500",
            "plan": plan,
            "uses_index": any("ix_tickets_sla_next_check" in line for line in plan),
            "median_ms": round(statistics.median(times), 3),
            "p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 3),
            "after_sweep_ms": round(statistics.median(after), 3),
        },
        "sweep": sweep,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="scratch database: its tables are recreated")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        path = PROJECT_ROOT / "var" / "bench" / "tickets_sla.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        Path(path).unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    print(
        json.dumps(asyncio.run(run(url, args.orders, args.due, args.repeats)), ensure_ascii=False, indent=2)
    )


if __name__ == "__main__":
    main()
