"""Async SQLAlchemy engine, the declarative base and the per-request transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from lingxi.core import sqlite_driver
from lingxi.core.timeutil import as_utc
from lingxi.settings import Settings, get_settings

log = logging.getLogger("lingxi.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Database:
    """One engine + session factory per process, built from settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        kwargs: dict[str, Any] = {}
        if settings.is_sqlite:
            kwargs.update(connect_args={"timeout": 30}, module=sqlite_driver.dbapi())
        else:
            kwargs.update(pool_size=20, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(settings.database_url, **kwargs)
        if settings.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = Database(get_settings())
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the session's transaction has committed (never after a rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


async def commit(session: AsyncSession) -> None:
    """Commit, then run the after-commit callbacks and wake the outbox dispatcher."""
    from lingxi.core.events import get_dispatcher

    emitted = session.info.pop("events_emitted", False)
    await session.commit()
    await run_after_commit(session)
    if emitted:
        get_dispatcher().kick()


async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends without error, else rolls back."""
    async with transaction() as session:
        yield session


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncSession]:
    """`async with transaction() as session:` for jobs and scripts: commits at the end of the block
    (running after-commit callbacks and waking the outbox), rolls back on error."""
    async with get_database().sessionmaker() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            session.info.pop("after_commit", None)
            session.info.pop("events_emitted", None)
            await session.rollback()
            raise


def insert_ignoring_conflicts(session: AsyncSession, model: Any, *, conflict_columns: list[str]) -> Any:
    """INSERT … ON CONFLICT (columns) DO NOTHING for the session's dialect (SQLite or PostgreSQL).

    For rows several requests or processes may create at once (an idempotent "create if missing"):
    the loser inserts nothing instead of failing its transaction.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing(index_elements=conflict_columns)


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"
