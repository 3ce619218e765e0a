"""Helpers for the knowledge tests: content, creating and publishing entries over the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.auth.helpers import bearer


def content(**overrides: Any) -> dict[str, Any]:
    """A valid entry body (zh-CN, every channel, no validity limits)."""
    body: dict[str, Any] = {
        "standard_question": "灵犀借记卡挂失后多久能补好新卡？",
        "similar_questions": ["挂失以后补卡要几天", "补办的卡什么时候能拿到"],
        "answer": "<p>挂失后可在任一网点<b>当场补办</b>，也可在APP申请邮寄，约 5–7 个工作日送达。</p>",
        "category": "银行卡",
        "intent": None,
        "channels": [],
        "valid_from": None,
        "valid_to": None,
        "language": "zh-CN",
    }
    body.update(overrides)
    return body


async def create(api: httpx.AsyncClient, token: str, **overrides: Any) -> dict[str, Any]:
    r = await api.post("/api/knowledge/entries", json=content(**overrides), headers=bearer(token))
    assert r.status_code == 201, r.text
    return r.json()


async def act(
    api: httpx.AsyncClient, token: str, entry: dict[str, Any], action: str, **body: Any
) -> httpx.Response:
    """POST /entries/{id}/{action} with the entry's current revision (unless given)."""
    payload = {"revision": entry["revision"], **body}
    return await api.post(
        f"/api/knowledge/entries/{entry['id']}/{action}", json=payload, headers=bearer(token)
    )


async def publish(api: httpx.AsyncClient, author: str, reviewer: str, **overrides: Any) -> dict[str, Any]:
    """Create, submit (author) and approve (reviewer); returns the published entry."""
    entry = await create(api, author, **overrides)
    r = await act(api, author, entry, "submit")
    assert r.status_code == 200, r.text
    r = await act(api, reviewer, r.json(), "approve")
    assert r.status_code == 200, r.text
    return r.json()


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return str(body["error"]["code"])


@pytest.fixture
async def editors(make_staff: Any) -> tuple[str, str]:
    """Two knowledge admins (author, reviewer): bearer tokens."""
    _, author = await make_staff("knowledge_admin", username="kb_author", display_name="知识编辑甲")
    _, reviewer = await make_staff("knowledge_admin", username="kb_reviewer", display_name="知识审核乙")
    return author, reviewer
