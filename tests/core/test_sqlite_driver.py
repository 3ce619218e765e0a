"""The one-trip SQLite cursor behaves like aiosqlite's for everything SQLAlchemy asks of it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lingxi.core.db import Database
from lingxi.core.sqlite_driver import OneTripConnection
from lingxi.settings import Settings


class _Base(DeclarativeBase):
    pass


class _Item(_Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


@pytest.fixture
async def database(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}"))
    async with database.engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield database
    await database.dispose()


async def test_the_engine_uses_the_one_trip_connection(database: Database) -> None:
    async with database.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, OneTripConnection)
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"


async def test_rows_counts_and_ids_come_back(database: Database) -> None:
    async with database.sessionmaker() as session:
        session.add_all([_Item(name="甲"), _Item(name="乙")])
        await session.flush()
        returned = (
            await session.execute(
                insert(_Item).returning(_Item.id, _Item.name), [{"name": "丙"}, {"name": "丁"}]
            )
        ).all()
        assert [name for _, name in returned] == ["丙", "丁"]
        changed = await session.execute(
            update(_Item)
            .where(_Item.name.in_(bindparam("names", expanding=True)))
            .values(name=_Item.name + "!"),
            {"names": ["甲", "乙", "无"]},
        )
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        await session.commit()
    async with database.sessionmaker() as session:
        names = (await session.scalars(select(_Item.name).order_by(_Item.id))).all()
        assert names == ["甲!", "乙!", "丙", "丁"]
        first = (await session.execute(select(_Item.name).order_by(_Item.id))).first()
        assert first is not None and first[0] == "甲!"


async def test_streamed_results_are_read_in_parts(database: Database) -> None:
    async with database.sessionmaker() as session:
        session.add_all([_Item(name=f"n{i}") for i in range(25)])
        await session.commit()
    async with database.sessionmaker() as session:
        result = await session.stream_scalars(
            select(_Item.name).order_by(_Item.id).execution_options(yield_per=10)
        )
        parts = [len(part) async for part in result.partitions()]
        assert parts == [10, 10, 5]


async def test_errors_are_the_dbapi_errors_and_roll_back(database: Database) -> None:
    async with database.sessionmaker() as session:
        session.add(_Item(name="same"))
        await session.commit()
    async with database.sessionmaker() as session:
        session.add(_Item(name="same"))
        with pytest.raises(IntegrityError):
            await session.flush()
        await session.rollback()
        assert (await session.scalar(select(_Item.id).where(_Item.name == "same"))) is not None
    async with database.sessionmaker() as session:
        with pytest.raises(Exception, match="no such table"):
            await session.execute(text("SELECT * FROM missing_table"))


async def test_a_savepoint_after_reads_waits_for_the_write_lock(database: Database) -> None:
    """begin_nested() after only reads, while another connection commits a write in between: the block's
    own write must not fail with "database is locked" (a deferred transaction's stale snapshot)."""
    async with database.sessionmaker() as setup:
        setup.add(_Item(name="first"))
        await setup.commit()
    async with database.sessionmaker() as a, database.sessionmaker() as b:
        async with a.begin_nested():
            assert await a.scalar(select(_Item.id).where(_Item.name == "first")) is not None
            b.add(_Item(name="from b"))
            other_writer = asyncio.create_task(b.commit())  # waits for a's write lock
            await asyncio.sleep(0.05)
            assert not other_writer.done()
            a.add(_Item(name="from a"))
            await a.flush()
        await a.commit()
        await other_writer
    async with database.sessionmaker() as check:
        names = set((await check.scalars(select(_Item.name))).all())
        assert names == {"first", "from a", "from b"}
