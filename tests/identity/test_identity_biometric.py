"""Biometric step-up: an assertion signed by the bank app after a face or fingerprint check."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from lingxi.core.errors import Conflict, Forbidden, ValidationFailed
from lingxi.identity import service


async def present(session, customer, assertion, actor, channel="app"):
    return await service.do_verify_biometric(
        session=session,
        assertion=assertion,
        customer_id=customer.id,
        channel=channel,
        conversation_id=None,
        actor=actor,
    )


async def test_valid_assertion_gives_l2(session, make_customer, clock, actor):
    customer = await make_customer()
    assertion = service.issue_demo_biometric_assertion(customer.customer_no, method="fingerprint", jti="j-1")
    verified = await present(session, customer, assertion, actor)
    assert (verified.level, verified.method, verified.reference) == ("L2", "biometric", "biometric:j-1")
    assert await service.get_effective_level(session=session, customer_id=customer.id, base_level="L1") == (
        "L2",
        clock.now + timedelta(minutes=10),
    )


async def test_expired_assertion(session, make_customer, clock, actor):
    customer = await make_customer()
    assertion = service.issue_demo_biometric_assertion(customer.customer_no, seconds=60)
    clock.advance(seconds=61)
    with pytest.raises(ValidationFailed) as err:
        await present(session, customer, assertion, actor)
    assert err.value.code == "assertion_expired"


async def test_lifetime_over_two_minutes_is_refused(session, make_customer, clock, actor):
    customer = await make_customer()
    assertion = service.issue_demo_biometric_assertion(customer.customer_no, seconds=121)
    with pytest.raises(ValidationFailed) as err:
        await present(session, customer, assertion, actor)
    assert err.value.code == "assertion_invalid" and "120 s" in err.value.message


async def test_replayed_assertion(session, make_customer, clock, actor):
    customer = await make_customer()
    assertion = service.issue_demo_biometric_assertion(customer.customer_no)
    await present(session, customer, assertion, actor)
    with pytest.raises(Conflict) as err:
        await present(session, customer, assertion, actor, channel="webchat")
    assert err.value.code == "assertion_replayed"


async def test_assertion_of_another_customer(session, make_customer, clock, actor):
    customer, other = await make_customer(), await make_customer()
    assertion = service.issue_demo_biometric_assertion(other.customer_no)
    with pytest.raises(Forbidden) as err:
        await present(session, customer, assertion, actor)
    assert err.value.code == "assertion_wrong_customer"


async def test_bad_signature(session, make_customer, clock, actor):
    customer = await make_customer()
    forged = service.issue_demo_biometric_assertion(
        customer.customer_no, secret="not-the-bank-app-secret-0123456789abcdef"
    )
    with pytest.raises(ValidationFailed) as err:
        await present(session, customer, forged, actor)
    assert err.value.code == "assertion_invalid" and "signature" in err.value.message


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"aud": "lingxi-chat"}, "step-up"),
        ({"method": "iris"}, "method"),
        ({"jti": None}, "jti"),
        ({"iat": "yesterday"}, "numeric"),
    ],
)
async def test_malformed_claims(session, make_customer, clock, actor, settings, change, needle):
    customer = await make_customer()
    now = int(clock.now.timestamp())
    claims = {
        "sub": customer.customer_no,
        "jti": "x",
        "iat": now,
        "exp": now + 60,
        "aud": "lingxi-stepup",
        "method": "face",
    }
    claims.update(change)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, settings.biometric_secret, algorithm="HS256")
    with pytest.raises(ValidationFailed) as err:
        await present(session, customer, token, actor)
    assert needle in err.value.message


async def test_garbage(session, make_customer, clock, actor):
    customer = await make_customer()
    with pytest.raises(ValidationFailed):
        await present(session, customer, "not.a.jwt", actor)
