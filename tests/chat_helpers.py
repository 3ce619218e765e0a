"""Helpers for tests that chat like the H5 page does: open a session, talk over REST or WebSocket."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect


async def open_chat(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await api.post("/api/chat/sessions", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def say(
    api: httpx.AsyncClient, chat: dict[str, Any], text: str, client_msg_id: str | None = None
) -> Any:
    r = await api.post(
        "/api/chat/messages",
        json={"client_msg_id": client_msg_id or f"c-{uuid.uuid4()}", "text": text},
        headers=bearer(chat["session_token"]),
    )
    assert r.status_code == 200, r.text
    return r.json()


def ws_url(api: httpx.AsyncClient, path: str) -> str:
    return str(api.base_url).replace("http://", "ws://").rstrip("/") + path


async def next_frame(ws: ClientConnection, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
    """The first frame of type `kind` (and matching fields); frames skipped on the way are kept for later."""
    backlog: list[dict[str, Any]] = ws.__dict__.setdefault("_backlog", [])

    def matches(frame: dict[str, Any]) -> bool:
        body = frame.get("message", frame)
        return frame.get("type") == kind and all(body.get(k) == v for k, v in match.items())

    for i, frame in enumerate(backlog):
        if matches(frame):
            return backlog.pop(i)

    async def read() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if matches(frame):
                return frame
            backlog.append(frame)

    return await asyncio.wait_for(read(), timeout)


async def chat_socket(api: httpx.AsyncClient, chat: dict[str, Any], last_id: int = 0) -> ClientConnection:
    return await connect(ws_url(api, f"/api/chat/ws?token={chat['session_token']}&last_id={last_id}"))


async def staff_login(api: httpx.AsyncClient, token: str) -> dict[str, str]:
    return bearer(token)
