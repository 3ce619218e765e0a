"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from lingxi.core import errors


def _shape(body: dict) -> dict:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


async def test_validation_error_names_the_fields(api):
    r = await api.post("/api/auth/login", json={"username": "", "pasword": "x"})
    assert r.status_code == 422
    err = _shape(r.json())
    assert err["code"] == "validation_failed"
    fields = {p["field"] for p in err["details"]}
    assert fields == {"username", "password", "pasword"}
    assert all(p["problem"] for p in err["details"])
    assert "username" in err["message"] and "password" in err["message"]


async def test_malformed_json_is_a_422_not_a_500(api):
    r = await api.post("/api/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert _shape(r.json())["code"] == "validation_failed"


async def test_404_shape(api):
    r = await api.get("/api/does-not-exist")
    assert r.status_code == 404
    assert _shape(r.json())["code"] == "not_found"


async def test_405_shape(api):
    r = await api.get("/api/auth/login")
    assert r.status_code == 405
    assert _shape(r.json())["code"] == "method_not_allowed"
    assert "POST" in r.headers["allow"]


async def test_oversized_body_is_refused(api):
    r = await api.post(
        "/api/auth/login", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert _shape(r.json())["code"] == "payload_too_large"


# --- every DomainError subclass, on a tiny app with only the error handlers ------------------------


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    qty: int = Field(ge=1)


def _app() -> FastAPI:
    app = FastAPI()
    errors.install_error_handlers(app)

    @app.get("/raise/{kind}")
    async def raise_(kind: str) -> dict:
        match kind:
            case "not_found":
                raise errors.NotFound("No customer 42.")
            case "forbidden":
                raise errors.Forbidden("Not yours.", code="not_assigned")
            case "conflict":
                raise errors.Conflict("Already closed.", details={"status": "closed"})
            case "locked":
                raise errors.Locked("Locked.", code="account_locked", details={"retry_after_minutes": 5})
            case "rate":
                raise errors.RateLimited("Slow down.", retry_after=30)
            case "auth":
                raise errors.Unauthenticated("Log in.")
            case "large":
                raise errors.TooLarge("Too big.")
            case "invalid":
                raise errors.ValidationFailed("Bad phone.", details=[{"field": "phone", "problem": "format"}])
            case _:
                raise RuntimeError("secret internal detail: password=hunter2")

    @app.post("/items")
    async def items(item: Item) -> dict:
        return item.model_dump()

    return app


@pytest.mark.parametrize(
    ("kind", "status", "code", "details"),
    [
        ("not_found", 404, "not_found", None),
        ("forbidden", 403, "not_assigned", None),
        ("conflict", 409, "conflict", {"status": "closed"}),
        ("locked", 423, "account_locked", {"retry_after_minutes": 5}),
        ("rate", 429, "rate_limited", {"retry_after_seconds": 30}),
        ("auth", 401, "unauthenticated", None),
        ("large", 413, "payload_too_large", None),
        ("invalid", 422, "validation_failed", [{"field": "phone", "problem": "format"}]),
        ("boom", 500, "internal_error", None),
    ],
)
async def test_domain_errors_map_to_status_and_code(kind, status, code, details):
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(f"/raise/{kind}")
    assert r.status_code == status
    err = _shape(r.json())
    assert (err["code"], err["details"]) == (code, details)
    if kind == "rate":
        assert r.headers["retry-after"] == "30"
    if kind == "auth":
        assert r.headers["www-authenticate"] == "Bearer"
    if kind == "boom":
        assert "hunter2" not in r.text and "secret" not in r.text


async def test_nested_validation_fields_are_dotted():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/items", json={"name": "", "qty": 0, "colour": "red"})
    assert r.status_code == 422
    err = _shape(r.json())
    assert {p["field"] for p in err["details"]} == {"name", "qty", "colour"}


async def test_a_concurrent_update_is_a_409():
    from sqlalchemy.orm.exc import StaleDataError

    app = FastAPI()
    errors.install_error_handlers(app)

    @app.post("/race")
    async def race() -> None:
        raise StaleDataError("UPDATE on 'tickets' expected to update 1 row; 0 were matched.")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.post("/race")
    assert r.status_code == 409
    err = _shape(r.json())
    assert err["code"] == "concurrent_update" and "message_zh" in err["details"]
