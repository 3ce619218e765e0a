"""Fixtures for the bot: a customer with known cards, accounts, bills, loans and holdings, and a chat
driver that talks over the real chat API and returns the bot's answers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lingxi.core.db import Database
from lingxi.core.outbound import list_outbound
from lingxi.identity.app_tokens import issue_demo_app_token
from tests.banking_fixtures import Banked, banked  # noqa: F401 - fixtures for these tests
from tests.chat_helpers import bearer, open_chat

CODE_RE = re.compile(r"验证码为(\d{6})")


@dataclass
class ChatDriver:
    """Talk to the bot like the H5 page: send over REST, read what came back."""

    api: httpx.AsyncClient
    db: Database
    chat: dict[str, Any]
    last_id: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)

    async def say(self, text: str) -> str:
        r = await self.api.post(
            "/api/chat/messages",
            json={"client_msg_id": f"c-{uuid.uuid4()}", "text": text},
            headers=bearer(self.chat["session_token"]),
        )
        assert r.status_code == 200, r.text
        sent = r.json()
        r = await self.api.get(
            "/api/chat/messages", params={"after": sent["id"]}, headers=bearer(self.chat["session_token"])
        )
        assert r.status_code == 200, r.text
        self.replies = [m for m in r.json()["items"] if m["sender_type"] == "bot"]
        self.last_id = max([sent["id"], *(m["id"] for m in self.replies)])
        return "\n".join(m["content"] for m in self.replies)

    @property
    def quick_replies(self) -> list[str]:
        return [q["text"] for m in self.replies for q in (m.get("payload") or {}).get("quick_replies", [])]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [m["payload"]["card"] for m in self.replies if (m.get("payload") or {}).get("card")]

    async def status(self) -> dict[str, Any]:
        r = await self.api.get("/api/chat/status", headers=bearer(self.chat["session_token"]))
        assert r.status_code == 200, r.text
        return r.json()

    async def last_code(self, phone: str) -> str:
        async with self.db.sessionmaker() as s:
            rows = await list_outbound(s, adapter="sms", recipient=phone, limit=1)
        assert rows, f"no SMS to {phone}"
        match = CODE_RE.search(rows[0].content)
        assert match, rows[0].content
        return match.group(1)


@pytest.fixture
def chat_as(api: httpx.AsyncClient, db: Database):
    async def factory(customer: Any | None = None) -> ChatDriver:
        body = {"app_token": issue_demo_app_token(customer.customer_no)} if customer is not None else {}
        return ChatDriver(api=api, db=db, chat=await open_chat(api, **body))

    return factory
