"""WebSocket plumbing shared by the customer and agent sockets: JSON in, broker notifications out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import WebSocket, WebSocketDisconnect

from lingxi.core.errors import DomainError

log = logging.getLogger("lingxi.ws")

ClientHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]
MAX_FRAME_BYTES = 16 * 1024


async def send_json(websocket: WebSocket, data: dict[str, Any]) -> None:
    await websocket.send_text(orjson.dumps(data).decode())


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message, **extra}}


async def pump(
    websocket: WebSocket,
    queue: asyncio.Queue[bytes],
    on_client: ClientHandler,
    *,
    skip: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Forward broker notifications to the socket and client frames to `on_client` until disconnect.

    `skip` drops notifications the client already has (e.g. messages sent while catching up).
    """

    async def forward() -> None:
        while True:
            raw = await queue.get()
            if skip is not None and skip(orjson.loads(raw)):
                continue
            await websocket.send_text(raw.decode())

    async def receive() -> None:
        while True:
            text = await websocket.receive_text()
            if len(text) > MAX_FRAME_BYTES:
                await send_json(
                    websocket, error_frame("frame_too_large", f"Frames are at most {MAX_FRAME_BYTES} bytes.")
                )
                continue
            try:
                frame = orjson.loads(text)
                if not isinstance(frame, dict):
                    raise ValueError("not an object")
            except ValueError:
                await send_json(
                    websocket, error_frame("bad_frame", 'Send JSON objects like {"type": "message", …}.')
                )
                continue
            if frame.get("type") == "ping":
                await send_json(websocket, {"type": "pong"})
                continue
            try:
                answer = await on_client(frame)
            except DomainError as exc:
                answer = error_frame(exc.code, exc.message, client_msg_id=frame.get("client_msg_id"))
            if answer is not None:
                await send_json(websocket, answer)

    tasks = [asyncio.create_task(forward()), asyncio.create_task(receive())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("websocket closed on error: %r", exc)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
