"""Log-in, lock-out, tokens, /me and log-out."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import update

from lingxi.auth import service as auth_service
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import ROLE_PERMISSIONS
from lingxi.core.timeutil import utcnow
from tests.auth.helpers import audit_rows, bearer, staff_row

PASSWORD = "Passw0rd!"


async def login(api, username: str, password: str = PASSWORD):
    return await api.post("/api/auth/login", json={"username": username, "password": password})


async def test_login_returns_token_and_user(api, make_staff, settings, db):
    user, _ = await make_staff("supervisor", username="zhangwei", display_name="张伟", branch_code="0101")
    r = await login(api, "zhangwei")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.staff_token_minutes * 60
    assert body["user"] == {
        "id": user.id,
        "username": "zhangwei",
        "display_name": "张伟",
        "role": "supervisor",
        "branch_code": "0101",
        "department": None,
        "languages": ["zh-CN"],
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS["supervisor"]),
    }
    me = await api.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == body["user"]
    rows = await audit_rows(db, "auth.login")
    assert [(r.actor_type, r.actor_id, r.subject_id) for r in rows] == [("staff", str(user.id), str(user.id))]
    assert (await staff_row(db, user.id)).last_login_at is not None


async def test_unknown_user_and_wrong_password_look_the_same(api, make_staff):
    await make_staff("agent", username="lina")
    unknown = await login(api, "nobody")
    wrong = await login(api, "lina", "Wrong-pass1")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "bad_credentials"
    assert unknown.headers["www-authenticate"] == "Bearer"


async def test_failed_attempts_are_committed_and_audited(api, make_staff, db):
    """The request fails, yet the failure counter and the audit rows survive (own transaction)."""
    user, _ = await make_staff("agent", username="wangfang")
    for _ in range(2):
        assert (await login(api, "wangfang", "not-it-123")).status_code == 401
    assert (await login(api, "ghost-user")).status_code == 401
    assert (await staff_row(db, user.id)).failed_logins == 2
    rows = await audit_rows(db, "auth.login_failed")
    assert [(r.subject_id, r.after["reason"]) for r in rows] == [
        (str(user.id), "bad_password"),
        (str(user.id), "bad_password"),
        ("ghost-user", "unknown_user"),
    ]
    assert all(r.actor_type == "visitor" and r.ip == "127.0.0.1" for r in rows)
    assert "not-it-123" not in str([(r.before, r.after, r.actor_name) for r in rows])
    # A success resets the counter.
    assert (await login(api, "wangfang")).status_code == 200
    assert (await staff_row(db, user.id)).failed_logins == 0


async def test_five_wrong_passwords_lock_the_account(api, make_staff, db):
    user, _ = await make_staff("agent", username="liuyang")
    statuses = [(await login(api, "liuyang", f"wrong-{i}-pass")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    r = await login(api, "liuyang")  # even the right password is refused while locked
    assert r.status_code == 423
    err = r.json()["error"]
    assert err["code"] == "account_locked"
    assert err["details"]["retry_after_minutes"] == auth_service.LOCK_MINUTES
    assert "15 min" in err["message"]
    row = await staff_row(db, user.id)
    assert row.locked_until is not None
    reasons = [r.after["reason"] for r in await audit_rows(db, "auth.login_failed")]
    assert reasons == ["bad_password"] * 5 + ["locked"]
    assert (await audit_rows(db, "auth.login_failed"))[4].after["locked"] is True


async def test_lock_expires(api, make_staff, db):
    user, _ = await make_staff("agent", username="zhaolei")
    async with db.sessionmaker() as s:
        await s.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    assert (await login(api, "zhaolei")).status_code == 200
    assert (await staff_row(db, user.id)).locked_until is None


async def test_lock_minutes_count_down(api, make_staff, db):
    user, _ = await make_staff("agent", username="sunli")
    async with db.sessionmaker() as s:
        await s.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(locked_until=utcnow() + timedelta(minutes=3))
        )
        await s.commit()
    r = await login(api, "sunli")
    assert r.status_code == 423
    assert r.json()["error"]["details"]["retry_after_minutes"] == 3


async def test_inactive_account(api, make_staff, db):
    user, token = await make_staff("agent", username="chenjing")
    async with db.sessionmaker() as s:
        await s.execute(update(StaffUser).where(StaffUser.id == user.id).values(is_active=False))
        await s.commit()
    r = await login(api, "chenjing")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "inactive"
    # Without the right password it says no more than for anyone else.
    assert (await login(api, "chenjing", "wrong-123")).json()["error"]["code"] == "bad_credentials"
    # A token issued before deactivation stops working.
    me = await api.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "inactive"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "no_token"),
        ({"Authorization": "Bearer not-a-jwt"}, "bad_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "no_token"),
    ],
)
async def test_me_needs_a_valid_token(api, headers, code):
    r = await api.get("/api/auth/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code


async def test_expired_and_foreign_tokens_are_refused(api, make_staff, settings):
    user, _ = await make_staff("agent")
    now = utcnow()
    expired = jwt.encode(
        {
            "sub": str(user.id),
            "aud": auth_service.TOKEN_AUDIENCE,
            "iat": now - timedelta(hours=2),
            "exp": now - timedelta(hours=1),
        },
        settings.secret_key,
        algorithm="HS256",
    )
    r = await api.get("/api/auth/me", headers=bearer(expired))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "token_expired")
    # Signed with another key, or for another audience (a customer chat token): refused.
    forged = jwt.encode(
        {"sub": str(user.id), "aud": auth_service.TOKEN_AUDIENCE, "exp": now + timedelta(hours=1)},
        "some-other-secret-0123456789abcdef",
        algorithm="HS256",
    )
    chat_like = jwt.encode(
        {"sub": str(user.id), "aud": "lingxi-chat", "exp": now + timedelta(hours=1)},
        settings.secret_key,
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        {"sub": str(user.id), "aud": auth_service.TOKEN_AUDIENCE, "exp": now + timedelta(hours=1)},
        None,
        algorithm="none",
    )
    for token in (forged, chat_like, unsigned):
        r = await api.get("/api/auth/me", headers=bearer(token))
        assert (r.status_code, r.json()["error"]["code"]) == (401, "bad_token"), token


async def test_logout_is_audited(api, make_staff, db):
    user, token = await make_staff("agent")
    r = await api.post("/api/auth/logout", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"status": "logged_out"}
    rows = await audit_rows(db, "auth.logout")
    assert [(r.actor_id, r.subject_id) for r in rows] == [(str(user.id), str(user.id))]
    assert (await api.post("/api/auth/logout")).status_code == 401


async def test_login_input_is_validated(api):
    r = await api.post("/api/auth/login", json={})
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["error"]["details"]}
    assert fields == {"username", "password"}
    r = await api.post("/api/auth/login", json={"username": "a", "password": "b", "remember": True})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "remember"


async def test_logout_ends_the_session_and_a_new_login_works(api, make_staff):
    _, token = await make_staff("agent", username="leaver", password="Passw0rd!")
    assert (await api.post("/api/auth/logout", headers=bearer(token))).status_code == 200
    r = await api.get("/api/auth/me", headers=bearer(token))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "session_revoked")
    r = await api.post("/api/auth/login", json={"username": "leaver", "password": "Passw0rd!"})
    fresh = r.json()["access_token"]
    assert (await api.get("/api/auth/me", headers=bearer(fresh))).status_code == 200
