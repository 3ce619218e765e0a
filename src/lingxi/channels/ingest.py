"""Group commit for customer messages arriving on live sockets.

Under load, one transaction per message spends most of its time in per-transaction overhead (and on
SQLite in the single writer). The ingest queues messages from all sockets of this process and a
single task stores whatever has accumulated in one transaction: one multi-row INSERT, the bot's
turns, one commit, then the realtime notifications. Each caller awaits its own result, so every
message is acknowledged only after it is committed. If a batch fails, its messages are retried one
by one so one bad message cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select

from lingxi.channels.service import Inbound, do_receive_many
from lingxi.conversations import service as conversations
from lingxi.conversations.models import Conversation
from lingxi.core.db import commit, get_database
from lingxi.core.errors import NotFound

log = logging.getLogger("lingxi.ingest")
# Built once: constructing the statement (and its cache key) per batch costs more than running it.
_SELECT_CONVERSATIONS = select(Conversation).where(Conversation.id.in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class _Pending:
    conversation_id: int
    text: str
    client_msg_id: str
    future: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class MessageIngest:
    MAX_BATCH = 256

    def __init__(self) -> None:
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, *, conversation_id: int, text: str, client_msg_id: str) -> dict[str, Any]:
        """Store a customer message (idempotent on client_msg_id); returns it (API shape) once committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="message-ingest")
        pending = _Pending(conversation_id=conversation_id, text=text, client_msg_id=client_msg_id)
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._store(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                log.warning("batch of %s messages failed; storing them one by one", len(batch), exc_info=True)
                for pending in batch:
                    try:
                        await self._store([pending])
                    except Exception as single_exc:
                        _fail(pending, single_exc)

    async def _store(self, batch: list[_Pending]) -> None:
        async with get_database().sessionmaker() as session:
            ids = {p.conversation_id for p in batch}
            found = await session.scalars(_SELECT_CONVERSATIONS, {"ids": list(ids)})
            by_id = {c.id: c for c in found}
            ready = []
            for pending in batch:
                if pending.conversation_id not in by_id:
                    _fail(
                        pending,
                        NotFound(
                            "This chat no longer exists; reopen the chat.", code="conversation_not_found"
                        ),
                    )
                else:
                    ready.append(pending)
            if not ready:
                return
            items = [
                Inbound(conversation=by_id[p.conversation_id], text=p.text, client_msg_id=p.client_msg_id)
                for p in ready
            ]
            results = await do_receive_many(session=session, items=items)
            reads = [
                conversations.message_dict(by_id[p.conversation_id], message)
                for p, (message, _) in zip(ready, results, strict=True)
            ]
            await commit(session)
        for pending, read in zip(ready, reads, strict=True):
            if not pending.future.done():
                pending.future.set_result(read)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _fail(pending: _Pending, exc: BaseException) -> None:
    if not pending.future.done():
        pending.future.set_exception(exc)


_ingest = MessageIngest()


def get_ingest() -> MessageIngest:
    return _ingest
