"""SQLite for the async engine: aiosqlite with one trip to its thread per statement.

aiosqlite runs every SQLite call on its connection's own thread, and SQLAlchemy's adapter makes four such
calls per statement (open a cursor, execute, fetch all rows, close). Each is a round trip through the event
loop: under chat load the message ingest's batch (three statements and a commit) waited for fourteen of them
behind every other socket's work. The cursor here does those four steps in one call on the connection's
thread and hands back the rows, the description and the counts; everything else is aiosqlite's.

Rows are always fetched whole (SQLite results here are small); a server-side cursor therefore reads from
memory too.

A savepoint outside a transaction (SQLAlchemy's `begin_nested()` after only reads) starts it with
`BEGIN IMMEDIATE`. Python's sqlite3 otherwise opens no transaction before reads, so SQLite would start a
deferred one at the SAVEPOINT: its reads then pin a snapshot, and its first write fails at once with
"database is locked" (SQLITE_BUSY_SNAPSHOT, no busy wait) if any other connection committed in between —
the outbox dispatcher does, constantly. Blocks in `begin_nested()` are there to write, so taking the write
lock up front (waiting for it like any writer) is what they mean.
"""

from __future__ import annotations

import functools
import sqlite3
import types
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

_Outcome = tuple[list[Any], Any, int, int | None]


class OneTripCursor:
    """The aiosqlite cursor interface SQLAlchemy uses, with one thread round trip per execute."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __await__(self) -> Generator[Any, None, OneTripCursor]:
        return self.__aenter__().__await__()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        run = functools.partial(_run, self._connection._conn, sql, () if parameters is None else parameters)
        self._take(await self._connection._execute(run))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        run = functools.partial(_run, self._connection._conn, sql, list(seq_of_parameters), many=True)
        self._take(await self._connection._execute(run))
        return self

    def _take(self, outcome: _Outcome) -> None:
        rows, self.description, self.rowcount, self.lastrowid = outcome
        self._rows = deque(rows)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(len(self._rows), size or self.arraysize)
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


def _run(conn: sqlite3.Connection, sql: str, parameters: Any, *, many: bool = False) -> _Outcome:
    """Runs on the connection's thread: one statement from cursor to close."""
    if not conn.in_transaction and sql.startswith("SAVEPOINT"):
        conn.execute("BEGIN IMMEDIATE")
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


def connect(database: str | Path, *, iter_chunk_size: int = 64, **kwargs: Any) -> OneTripConnection:
    return OneTripConnection(functools.partial(sqlite3.connect, str(database), **kwargs), iter_chunk_size)


def _driver_module() -> types.ModuleType:
    """aiosqlite's module surface (errors, versions) with this connect()."""
    module = types.ModuleType("lingxi_aiosqlite")
    for name in dir(aiosqlite):
        if not name.startswith("_"):
            setattr(module, name, getattr(aiosqlite, name))
    module.connect = connect  # type: ignore[attr-defined]
    module.Connection = OneTripConnection  # type: ignore[attr-defined]
    return module


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI object for `create_async_engine(..., module=dbapi())` on a sqlite+aiosqlite URL."""
    return AsyncAdapt_aiosqlite_dbapi(_driver_module(), sqlite3)
