"""The identity routes over the real server: chat customer step-up and the developer inbox."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select

from lingxi.conversations.models import Conversation
from lingxi.identity import service
from lingxi.identity.models import OtpChallenge


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored(db, model, **where):
    async with db.sessionmaker() as s:
        stmt = select(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return await s.scalar(stmt)


async def code_for(db, last_code, phone):
    async with db.sessionmaker() as s:
        return await last_code(s, phone)


async def test_anonymous_chat_is_l0_and_cannot_step_up(api, open_chat):
    _, token = await open_chat(None, visitor_id="v-anon-1")
    r = await api.get("/api/identity/status", headers=bearer(token))
    assert r.status_code == 200
    assert r.json() == {"level": "L0", "expires_at": None, "methods_available": []}

    for path, body in (("/api/identity/otp", {}), ("/api/identity/biometric", {"assertion": "x"})):
        r = await api.post(path, json=body, headers=bearer(token))
        assert r.status_code == 403, path
        error = r.json()["error"]
        assert error["code"] == "identification_required"
        assert "Log in" in error["message"] and "登录" in error["details"]["message_zh"]


async def test_no_chat_token(api):
    r = await api.get("/api/identity/status")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "no_chat_token"


async def test_otp_step_up_carries_over_to_another_channel(
    api, db, open_chat, make_customer, clock, last_code
):
    customer = await make_customer(phone="13812345678")
    web_conv, web = await open_chat(customer.id, channel="webchat")
    _, app = await open_chat(customer.id, channel="app")

    r = await api.get("/api/identity/status", headers=bearer(web))
    assert r.json() == {"level": "L1", "expires_at": None, "methods_available": ["otp", "biometric"]}

    r = await api.post("/api/identity/otp", json={}, headers=bearer(web))
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["phone_masked"] == "138****5678"
    assert sent["expires_in_seconds"] == 300 and sent["resend_after_seconds"] == 60
    challenge = await stored(db, OtpChallenge, public_id=sent["challenge_id"])
    assert challenge.conversation_id == web_conv.id and challenge.channel == "webchat"

    code = await code_for(db, last_code, customer.phone)
    r = await api.post(
        "/api/identity/otp/verify",
        json={"challenge_id": sent["challenge_id"], "code": code},
        headers=bearer(web),
    )
    assert r.status_code == 200, r.text
    window_end = clock.now + timedelta(minutes=10)
    assert r.json()["level"] == "L2"
    assert datetime.fromisoformat(r.json()["expires_at"]) == window_end
    assert (await stored(db, Conversation, id=web_conv.id)).verification_level == "L2"

    # the app chat (another channel) is L2 too, without asking again
    r = await api.get("/api/identity/status", headers=bearer(app))
    assert r.json()["level"] == "L2"
    assert datetime.fromisoformat(r.json()["expires_at"]) == window_end

    clock.advance(minutes=10)
    r = await api.get("/api/identity/status", headers=bearer(app))
    assert r.json()["level"] == "L1" and r.json()["expires_at"] is None


async def test_wrong_tries_are_kept_and_lock(api, db, open_chat, make_customer, clock, last_code, wrong):
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    challenge_id = (await api.post("/api/identity/otp", headers=bearer(token))).json()["challenge_id"]
    code = await code_for(db, last_code, customer.phone)

    for remaining in (4, 3, 2, 1):
        r = await api.post(
            "/api/identity/otp/verify",
            json={"challenge_id": challenge_id, "code": wrong(code)},
            headers=bearer(token),
        )
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["code"] == "otp_wrong" and error["details"]["remaining_attempts"] == remaining
    r = await api.post(
        "/api/identity/otp/verify",
        json={"challenge_id": challenge_id, "code": wrong(code)},
        headers=bearer(token),
    )
    assert r.status_code == 423 and r.json()["error"]["code"] == "otp_locked"
    r = await api.post(
        "/api/identity/otp/verify", json={"challenge_id": challenge_id, "code": code}, headers=bearer(token)
    )
    assert r.status_code == 423

    row = await stored(db, OtpChallenge, public_id=challenge_id)
    assert row.attempts == 5 and row.locked_at is not None  # committed although every answer was an error
    r = await api.get("/api/identity/status", headers=bearer(token))
    assert r.json()["level"] == "L1"


async def test_expired_code_over_http(api, db, open_chat, make_customer, clock, last_code):
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    challenge_id = (await api.post("/api/identity/otp", headers=bearer(token))).json()["challenge_id"]
    code = await code_for(db, last_code, customer.phone)
    clock.advance(minutes=5)
    r = await api.post(
        "/api/identity/otp/verify", json={"challenge_id": challenge_id, "code": code}, headers=bearer(token)
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "otp_expired"


async def test_challenge_of_another_customer_is_404(api, db, open_chat, make_customer, clock, last_code):
    owner, intruder = await make_customer(), await make_customer()
    _, owner_token = await open_chat(owner.id)
    _, intruder_token = await open_chat(intruder.id)
    challenge_id = (await api.post("/api/identity/otp", headers=bearer(owner_token))).json()["challenge_id"]
    code = await code_for(db, last_code, owner.phone)
    r = await api.post(
        "/api/identity/otp/verify",
        json={"challenge_id": challenge_id, "code": code},
        headers=bearer(intruder_token),
    )
    assert r.status_code == 404


async def test_send_rate_limit_over_http(api, open_chat, make_customer, clock):
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    assert (await api.post("/api/identity/otp", headers=bearer(token))).status_code == 200
    clock.advance(seconds=15)
    r = await api.post("/api/identity/otp", headers=bearer(token))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "45"
    error = r.json()["error"]
    assert error["code"] == "otp_resend_too_soon"
    assert error["details"]["retry_after_seconds"] == 45 and "45秒" in error["details"]["message_zh"]


async def test_input_is_validated(api, open_chat, make_customer):
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    r = await api.post(
        "/api/identity/otp", json={"purpose": "step_up", "phone": "13900000000"}, headers=bearer(token)
    )
    assert r.status_code == 422  # the phone is always the one on file
    r = await api.post("/api/identity/otp/verify", json={"challenge_id": "x"}, headers=bearer(token))
    assert r.status_code == 422


async def test_biometric_over_http(api, db, open_chat, make_customer, clock):
    customer, other = await make_customer(), await make_customer()
    conv, token = await open_chat(customer.id, channel="app")

    r = await api.post(
        "/api/identity/biometric/demo-assertion", json={"method": "face"}, headers=bearer(token)
    )
    assert r.status_code == 200
    assertion = r.json()["assertion"]
    r = await api.post("/api/identity/biometric", json={"assertion": assertion}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["level"] == "L2"
    assert (await stored(db, Conversation, id=conv.id)).verification_level == "L2"

    r = await api.post("/api/identity/biometric", json={"assertion": assertion}, headers=bearer(token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "assertion_replayed"

    foreign = service.issue_demo_biometric_assertion(other.customer_no)
    r = await api.post("/api/identity/biometric", json={"assertion": foreign}, headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "assertion_wrong_customer"

    r = await api.post("/api/identity/biometric", json={"assertion": assertion + "x"}, headers=bearer(token))
    assert r.status_code == 422 and r.json()["error"]["code"] == "assertion_invalid"


async def test_dev_inbox_shows_the_demo_sms(api, open_chat, make_customer, make_staff, clock):
    customer = await make_customer(phone="13698765432")
    _, token = await open_chat(customer.id)
    await api.post("/api/identity/otp", headers=bearer(token))
    _, admin = await make_staff("admin")

    r = await api.get(
        "/api/dev/inbox", params={"adapter": "sms", "recipient": "13698765432"}, headers=bearer(admin)
    )
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item["adapter"] == "sms" and item["recipient"] == "13698765432"
    assert item["content"].startswith("【灵犀银行】您的验证码为")
    assert set(item) == {"id", "adapter", "recipient", "content", "meta", "created_at"}

    r = await api.get("/api/dev/inbox", params={"recipient": "13600000000"}, headers=bearer(admin))
    assert r.json() == {"items": []}


async def test_dev_inbox_permissions(api, make_staff):
    assert (await api.get("/api/dev/inbox")).status_code == 401
    for role in ("agent", "supervisor", "back_office", "knowledge_admin", "auditor"):
        _, token = await make_staff(role)
        r = await api.get("/api/dev/inbox", headers=bearer(token))
        assert r.status_code == 403, role
        assert r.json()["error"]["code"] == "forbidden"
    _, admin = await make_staff("admin")
    assert (await api.get("/api/dev/inbox", headers=bearer(admin))).status_code == 200


async def test_demo_routes_do_not_exist_in_prod(
    api, open_chat, make_customer, make_staff, settings, monkeypatch
):
    _, admin = await make_staff("admin")
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    monkeypatch.setattr(settings, "env", "prod")
    r = await api.get("/api/dev/inbox", headers=bearer(admin))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await api.get("/api/dev/inbox")).status_code == 404  # not even a hint that it exists
    r = await api.post("/api/identity/biometric/demo-assertion", headers=bearer(token))
    assert r.status_code == 404
    r = await api.post("/api/identity/otp", headers=bearer(token))
    assert r.status_code == 503 and r.json()["error"]["code"] == "sms_not_configured"


async def test_parallel_guesses_cannot_exceed_the_limit(api, db, open_chat, make_customer, clock, last_code):
    customer = await make_customer()
    _, token = await open_chat(customer.id)
    challenge_id = (await api.post("/api/identity/otp", headers=bearer(token))).json()["challenge_id"]
    code = await code_for(db, last_code, customer.phone)
    guesses = [f"{i:06d}" for i in range(21) if f"{i:06d}" != code][:20]

    answers = await asyncio.gather(
        *[
            api.post(
                "/api/identity/otp/verify",
                json={"challenge_id": challenge_id, "code": guess},
                headers=bearer(token),
            )
            for guess in guesses
        ]
    )
    codes = sorted(r.json()["error"]["code"] for r in answers)
    assert codes == ["otp_locked"] * 16 + ["otp_wrong"] * 4
    row = await stored(db, OtpChallenge, public_id=challenge_id)
    assert row.attempts == 5 and row.locked_at is not None
