"""Staff administration: list, create, update (with self-protection), reset password; all audited."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from sqlalchemy import update

from lingxi.auth.models import ROLES, StaffUser
from lingxi.auth.permissions import ROLE_PERMISSIONS
from lingxi.auth.schemas import Role
from lingxi.core.timeutil import utcnow
from tests.auth.helpers import audit_rows, bearer, staff_row


def test_role_literal_matches_the_role_table():
    assert set(get_args(Role)) == set(ROLES) == set(ROLE_PERMISSIONS)


async def test_list_staff_with_role_filter(api, make_staff):
    admin, token = await make_staff("admin")
    await make_staff("agent", username="agent_a")
    await make_staff("agent", username="agent_b")
    await make_staff("auditor")
    r = await api.get("/api/admin/staff", headers=bearer(token))
    assert r.status_code == 200
    assert len(r.json()["items"]) == 4
    first = r.json()["items"][0]
    assert first["id"] == admin.id and first["is_active"] is True and "password_hash" not in first
    r = await api.get("/api/admin/staff", params={"role": "agent"}, headers=bearer(token))
    assert [u["username"] for u in r.json()["items"]] == ["agent_a", "agent_b"]
    r = await api.get("/api/admin/staff", params={"role": ""}, headers=bearer(token))
    assert len(r.json()["items"]) == 4
    r = await api.get("/api/admin/staff", params={"role": "superuser"}, headers=bearer(token))
    assert r.status_code == 422


async def test_only_admins_manage_staff(api, make_staff):
    _, token = await make_staff("supervisor")
    r = await api.get("/api/admin/staff", headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


async def test_create_staff(api, make_staff, db):
    admin, token = await make_staff("admin")
    body = {
        "username": "li.na",
        "display_name": "李娜",
        "password": "Welcome2026",
        "role": "agent",
        "branch_code": "0201",
        "department": "信用卡中心",
        "languages": ["zh-CN", "en"],
        "max_concurrent_chats": 4,
    }
    r = await api.post("/api/admin/staff", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["languages"] == ["zh-CN", "en"]
    assert created["max_concurrent_chats"] == 4
    assert created["permissions"] == sorted(p.value for p in ROLE_PERMISSIONS["agent"])
    # The new user can log in.
    login = await api.post("/api/auth/login", json={"username": "li.na", "password": "Welcome2026"})
    assert login.status_code == 200
    (row,) = await audit_rows(db, "staff.create", subject_id=str(created["id"]))
    assert row.actor_id == str(admin.id)
    assert row.after["role"] == "agent" and row.after["languages"] == "zh-CN,en"
    assert "Welcome2026" not in str(row.after) and "password_hash" not in row.after
    # Taken user name, weak password, bad role, extra field.
    r = await api.post("/api/admin/staff", json=body, headers=bearer(token))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "username_taken")
    weak = {**body, "username": "weak.one", "password": "abcdefghij"}
    assert (await api.post("/api/admin/staff", json=weak, headers=bearer(token))).status_code == 422
    bad_role = {**body, "username": "x.role", "role": "root"}
    r = await api.post("/api/admin/staff", json=bad_role, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "role"
    extra = {**body, "username": "x.extra", "is_superuser": True}
    assert (await api.post("/api/admin/staff", json=extra, headers=bearer(token))).status_code == 422
    bad_lang = {**body, "username": "x.lang", "languages": ["Chinese!"]}
    r = await api.post("/api/admin/staff", json=bad_lang, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].startswith("languages")


async def test_update_staff_records_before_and_after(api, make_staff, db):
    admin, token = await make_staff("admin")
    agent, _ = await make_staff("agent", branch_code="0101")
    r = await api.patch(
        f"/api/admin/staff/{agent.id}",
        json={
            "role": "supervisor",
            "branch_code": None,
            "languages": ["zh-CN", "yue"],
            "display_name": "王主管",
        },
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["role"], body["branch_code"], body["languages"]) == ("supervisor", None, ["zh-CN", "yue"])
    assert "chat.monitor" in body["permissions"]
    (row,) = await audit_rows(db, "staff.update")
    assert row.actor_id == str(admin.id) and row.subject_id == str(agent.id)
    assert row.before == {
        "role": "agent",
        "branch_code": "0101",
        "languages": "zh-CN",
        "display_name": agent.display_name,
    }
    assert row.after == {
        "role": "supervisor",
        "branch_code": None,
        "languages": "zh-CN,yue",
        "display_name": "王主管",
    }
    # Sending the same values again changes nothing and writes no audit row.
    r = await api.patch(f"/api/admin/staff/{agent.id}", json={"role": "supervisor"}, headers=bearer(token))
    assert r.status_code == 200
    assert len(await audit_rows(db, "staff.update")) == 1


async def test_update_staff_validation(api, make_staff):
    _, token = await make_staff("admin")
    agent, _ = await make_staff("agent")
    url = f"/api/admin/staff/{agent.id}"
    for body, field in [
        ({"display_name": None}, "display_name"),
        ({"is_active": None}, "is_active"),
        ({"max_concurrent_chats": 500}, "max_concurrent_chats"),
        ({"password_hash": "x"}, "password_hash"),
        ({"languages": []}, "languages"),
    ]:
        r = await api.patch(url, json=body, headers=bearer(token))
        assert r.status_code == 422, body
        assert r.json()["error"]["details"][0]["field"] == field
    r = await api.patch("/api/admin/staff/999999", json={"display_name": "x"}, headers=bearer(token))
    assert r.status_code == 404


async def test_deactivation_ends_sessions(api, make_staff, db):
    _, token = await make_staff("admin")
    agent, agent_token = await make_staff("agent")
    r = await api.patch(f"/api/admin/staff/{agent.id}", json={"is_active": False}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await api.get("/api/auth/me", headers=bearer(agent_token))).status_code == 401
    (row,) = await audit_rows(db, "staff.update")
    assert (row.before, row.after) == ({"is_active": True}, {"is_active": False})


async def test_admin_cannot_deactivate_or_demote_self(api, make_staff, db):
    admin, token = await make_staff("admin")
    url = f"/api/admin/staff/{admin.id}"
    r = await api.patch(url, json={"is_active": False}, headers=bearer(token))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_deactivate_self")
    r = await api.patch(url, json={"role": "agent"}, headers=bearer(token))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "cannot_change_own_role")
    row = await staff_row(db, admin.id)
    assert (row.role, row.is_active) == ("admin", True)
    # Harmless self-edits are fine, including restating the same role.
    r = await api.patch(url, json={"display_name": "系统管理员", "role": "admin"}, headers=bearer(token))
    assert r.status_code == 200
    # Another administrator may do it.
    _, other = await make_staff("admin")
    r = await api.patch(url, json={"role": "auditor"}, headers=bearer(other))
    assert r.status_code == 200 and r.json()["role"] == "auditor"


async def test_reset_password_unlocks(api, make_staff, db):
    admin, token = await make_staff("admin")
    agent, agent_token = await make_staff("agent", username="zhoumin")
    async with db.sessionmaker() as s:
        await s.execute(
            update(StaffUser)
            .where(StaffUser.id == agent.id)
            .values(locked_until=utcnow() + timedelta(minutes=10), failed_logins=0)
        )
        await s.commit()
    url = f"/api/admin/staff/{agent.id}/reset-password"
    r = await api.post(url, json={"new_password": "short"}, headers=bearer(token))
    assert r.status_code == 422
    r = await api.post(url, json={"new_password": "onlyletters"}, headers=bearer(token))
    assert r.status_code == 422
    r = await api.post(url, json={"new_password": "NewPass2026"}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["locked_until"] is None
    old = await api.post("/api/auth/login", json={"username": "zhoumin", "password": "Passw0rd!"})
    assert old.status_code == 401
    new = await api.post("/api/auth/login", json={"username": "zhoumin", "password": "NewPass2026"})
    assert new.status_code == 200
    # Sessions opened with the old password end; the new log-in's token works.
    r = await api.get("/api/auth/me", headers=bearer(agent_token))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "session_revoked")
    assert (await api.get("/api/auth/me", headers=bearer(new.json()["access_token"]))).status_code == 200
    (row,) = await audit_rows(db, "staff.reset_password")
    assert row.actor_id == str(admin.id) and row.subject_id == str(agent.id)
    assert row.before["locked_until"] is not None and row.after["locked_until"] is None
    assert "NewPass2026" not in str((row.before, row.after))
    r = await api.post(
        "/api/admin/staff/999999/reset-password", json={"new_password": "NewPass2026"}, headers=bearer(token)
    )
    assert r.status_code == 404
