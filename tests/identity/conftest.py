"""Fixtures of the identity tests: a frozen clock for the identity service, chat sessions, SMS codes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from lingxi.channels.chat_session import ChatSession, issue_chat_token
from lingxi.conversations.models import Conversation
from lingxi.core.actor import Actor
from lingxi.core.outbound import list_outbound
from lingxi.core.timeutil import utcnow


class Clock:
    """Stands in for `lingxi.identity.service.utcnow`; moves only when told to."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("lingxi.identity.service.utcnow", c)
    return c


@pytest.fixture
def actor() -> Actor:
    return Actor(type="customer", id="test")


ChatFactory = Callable[..., Awaitable[tuple[Conversation, str]]]


@pytest.fixture
def open_chat(db: Any) -> ChatFactory:
    """Insert a conversation and return it with a chat session token for it."""

    async def factory(
        customer_id: int | None, *, channel: str = "webchat", visitor_id: str | None = None
    ) -> tuple[Conversation, str]:
        async with db.sessionmaker() as s:
            conversation = Conversation(
                public_id=str(uuid.uuid4()),
                channel=channel,
                customer_id=customer_id,
                visitor_id=visitor_id,
                verification_level="L1" if customer_id else "L0",
                context={},
            )
            s.add(conversation)
            await s.commit()
        token = issue_chat_token(
            ChatSession(
                conversation_id=conversation.id,
                conversation_public_id=conversation.public_id,
                customer_id=customer_id,
                visitor_id=visitor_id,
                channel=channel,
            )
        )
        return conversation, token

    return factory


CODE_RE = re.compile(r"验证码为(\d{6})")


async def _last_code(session: Any, phone: str) -> str:
    rows = await list_outbound(session, adapter="sms", recipient=phone, limit=1)
    assert rows, f"no SMS to {phone}"
    match = CODE_RE.search(rows[0].content)
    assert match, rows[0].content
    return match.group(1)


@pytest.fixture
def last_code() -> Callable[[Any, str], Awaitable[str]]:
    """`await last_code(session, phone)`: the code in the newest demo SMS to that phone."""
    return _last_code


@pytest.fixture
def wrong() -> Callable[[str], str]:
    """A 6-digit code that is not the given one."""
    return lambda code: f"{(int(code) + 1) % 1_000_000:06d}"
