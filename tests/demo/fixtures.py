"""Fixtures around the demo bank: one loaded copy per test session, cloned for each test that needs it.

Loading takes a few seconds (mostly hashing the staff passwords), so it happens once; each test gets
its own copy of the loaded SQLite file. On PostgreSQL (LINGXI_TEST_DATABASE_URL) the bank is loaded
into the per-test database instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lingxi.core.db import Database, get_database, set_database
from lingxi.settings import Settings

TODAY = date(2026, 11, 30)  # the fixed anchor of the demo's statements in tests
PG_URL = os.environ.get("LINGXI_TEST_DATABASE_URL")


@dataclass
class LoadedBank:
    path: Path | None
    counts: dict[str, int]


_cache: dict[str, LoadedBank] = {}


async def load_into_new_file(schema_template: str, path: Path) -> dict[str, int]:
    """Load the demo bank into a fresh copy of the schema at `path`; the global database is restored."""
    from lingxi.demo.loader import load_demo_bank

    shutil.copyfile(schema_template, path)
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    previous = get_database() if _has_database() else None
    set_database(database)
    try:
        return await load_demo_bank(today=TODAY)
    finally:
        set_database(previous)
        await database.dispose()


def _has_database() -> bool:
    from lingxi.core import db as core_db

    return core_db._database is not None


@pytest.fixture(scope="session")
async def demo_bank(schema_template: str | None, tmp_root: Path) -> LoadedBank:
    """The demo bank loaded once per session (SQLite), with the loader's counts."""
    if "bank" not in _cache:
        if PG_URL or schema_template is None:
            _cache["bank"] = LoadedBank(path=None, counts={})
        else:
            path = tmp_root / "demo-bank.db"
            counts = await load_into_new_file(schema_template, path)
            _cache["bank"] = LoadedBank(path=path, counts=counts)
    return _cache["bank"]


_copies = {"n": 0}


@pytest.fixture
async def demo_db(db: Database, demo_bank: LoadedBank, tmp_root: Path) -> AsyncIterator[Database]:
    """A database holding the demo bank for this test only (made the process's database)."""
    if demo_bank.path is None:  # PostgreSQL: load into the freshly truncated test database
        from lingxi.demo.loader import load_demo_bank

        await load_demo_bank(today=TODAY)
        yield db
        return
    _copies["n"] += 1
    path = tmp_root / f"demo-copy-{_copies['n']}.db"
    shutil.copyfile(demo_bank.path, path)
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    set_database(database)
    yield database
    set_database(db)
    await database.dispose()


@pytest.fixture
async def demo_session(demo_db: Database) -> AsyncIterator[Any]:
    async with demo_db.sessionmaker() as s:
        yield s


@pytest.fixture
def staff_token(demo_db: Database) -> Any:
    """Bearer headers for a demo staff user by user name (agent01, backoffice01 …)."""
    from lingxi.auth import service as auth_service

    async def headers(username: str) -> dict[str, str]:
        async with demo_db.sessionmaker() as s:
            user = await auth_service.get_staff_by_username(session=s, username=username)
            assert user is not None, username
            return {"Authorization": f"Bearer {auth_service.issue_staff_token(user)}"}

    return headers
