"""Searching and exporting the audit log (Perm.AUDIT_READ)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from lingxi.audit.service import do_record
from lingxi.core.actor import Actor
from tests.auth.helpers import audit_rows, bearer

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


async def seed(db, count: int = 6) -> list[int]:
    """`count` rows an hour apart from T0, alternating two staff actors and two actions."""
    async with db.sessionmaker() as s:
        rows = []
        for i in range(count):  # `at` is set before the INSERT: the table refuses UPDATEs
            actor = Actor(type="staff", id=str(100 + i % 2), name=f"坐席{i % 2}", role="agent", ip="10.1.2.3")
            rows.append(
                do_record(
                    session=s,
                    actor=actor,
                    action="customer.reveal" if i % 2 else "ticket.update",
                    subject_type="customer" if i % 2 else "ticket",
                    subject_id=str(i),
                    after={"phone": "13812345678", "field": "phone"} if i % 2 else {"status": "done"},
                    reason="客户来电核实" if i % 2 else None,
                )
            )
            rows[-1].at = T0 + timedelta(hours=i)
        await s.commit()
        return [r.id for r in rows]


async def test_search_filters_and_paging(api, make_staff, db):
    _, token = await make_staff("auditor")
    ids = await seed(db)
    h = bearer(token)
    r = await api.get("/api/audit", headers=h, params={"subject_type": "customer"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["id"] for i in body["items"]] == [ids[5], ids[3], ids[1]]
    assert body["next_before_id"] is None
    item = body["items"][0]
    assert item["after"]["phone"] == "138****5678"  # masked when recorded
    assert item["reason"] == "客户来电核实" and item["actor_name"] == "坐席1" and item["ip"] == "10.1.2.3"

    r = await api.get("/api/audit", headers=h, params={"actor_id": "100", "action": "ticket.update"})
    assert [i["id"] for i in r.json()["items"]] == [ids[4], ids[2], ids[0]]
    r = await api.get("/api/audit", headers=h, params={"subject_type": "ticket", "subject_id": "2"})
    assert [i["id"] for i in r.json()["items"]] == [ids[2]]
    r = await api.get("/api/audit", headers=h, params={"actor_type": "staff", "actor_id": "101"})
    assert len(r.json()["items"]) == 3
    # Empty parameters (as a search form sends them) mean "no filter".
    r = await api.get(
        "/api/audit", headers=h, params={"action": "", "since": "", "actor_type": "", "limit": 3}
    )
    assert r.status_code == 200 and len(r.json()["items"]) == 3

    # Time window: since inclusive, until exclusive; any timezone offset works (11:00+08:00 = 03:00Z).
    r = await api.get(
        "/api/audit",
        headers=h,
        params={"since": "2026-11-29T11:00:00+08:00", "until": (T0 + timedelta(hours=4)).isoformat()},
    )
    assert [i["id"] for i in r.json()["items"]] == [ids[3], ids[2], ids[1]]

    # Paging: newest first, next_before_id until exhausted.
    seen: list[int] = []
    params: dict[str, int] = {"limit": 2}
    while True:
        page = (await api.get("/api/audit", headers=h, params=params)).json()
        seen += [i["id"] for i in page["items"]]
        if page["next_before_id"] is None:
            break
        params = {"limit": 2, "before_id": page["next_before_id"]}
    assert seen == sorted(seen, reverse=True)
    assert set(ids) <= set(seen)


async def test_search_rejects_bad_filters(api, make_staff):
    _, token = await make_staff("auditor")
    h = bearer(token)
    for params, field in [
        ({"since": "2026-11-29T10:00:00"}, "since"),  # no timezone: ambiguous
        ({"until": "yesterday"}, "until"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"before_id": -1}, "before_id"),
        ({"actor_type": "robot"}, "actor_type"),
        ({"colour": "red"}, "colour"),
    ]:
        r = await api.get("/api/audit", headers=h, params=params)
        assert r.status_code == 422, params
        assert field in r.json()["error"]["details"][0]["field"], r.json()
    r = await api.get(
        "/api/audit", headers=h, params={"since": "2026-11-30T00:00:00Z", "until": "2026-11-29T00:00:00Z"}
    )
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"since", "until"}


async def test_only_auditors_read_the_log(api, make_staff):
    for role in ("agent", "supervisor", "admin", "back_office", "knowledge_admin"):
        _, token = await make_staff(role)
        assert (await api.get("/api/audit", headers=bearer(token))).status_code == 403
        assert (await api.get("/api/audit/export.csv", headers=bearer(token))).status_code == 403
    assert (await api.get("/api/audit")).status_code == 401


async def test_export_csv(api, make_staff, db):
    auditor, token = await make_staff("auditor")
    ids = await seed(db)
    # A value that would run as a spreadsheet formula is neutralised.
    async with db.sessionmaker() as s:
        evil = do_record(
            session=s,
            actor=Actor(type="visitor", id='=HYPERLINK("x")', name="=1+1"),
            action="auth.login_failed",
            subject_type="staff_user",
            subject_id="@SUM(A1)",
        )
        await s.commit()
    r = await api.get(
        "/api/audit/export.csv", headers=bearer(token), params={"until": "2100-01-01T00:00:00Z"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and ".csv" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    (created,) = await audit_rows(db, "staff.create")  # the auditor's own account, made by make_staff
    assert [int(row["id"]) for row in table] == [evil.id, *reversed(ids), created.id]
    assert table[0]["actor_id"].startswith("'=") and table[0]["actor_name"] == "'=1+1"
    assert table[0]["subject_id"] == "'@SUM(A1)"
    reveal = next(row for row in table if row["id"] == str(ids[1]))
    assert reveal["after"] == '{"field": "phone", "phone": "138****5678"}'
    assert reveal["reason"] == "客户来电核实"
    assert "X-Next-Before-Id" not in r.headers
    # The export is itself audited, with the filters used.
    (row,) = await audit_rows(db, "audit.export")
    assert row.actor_id == str(auditor.id)
    assert row.after["rows"] == 8
    assert row.after["filters"] == {"until": "2100-01-01T00:00:00+00:00", "limit": 10_000}


async def test_export_limit_tells_where_to_continue(api, make_staff, db):
    _, token = await make_staff("auditor")
    ids = await seed(db)
    r = await api.get(
        "/api/audit/export.csv", headers=bearer(token), params={"limit": 2, "action": "ticket.update"}
    )
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [int(x["id"]) for x in rows] == [ids[4], ids[2]]
    assert r.headers["x-next-before-id"] == str(ids[2])
    r = await api.get("/api/audit/export.csv", headers=bearer(token), params={"limit": 50_001})
    assert r.status_code == 422


async def test_export_then_search_sees_the_export(api, make_staff, db):
    _, token = await make_staff("auditor")
    await api.get("/api/audit/export.csv", headers=bearer(token))
    r = await api.get("/api/audit", headers=bearer(token), params={"action": "audit.export"})
    assert len(r.json()["items"]) == 1
