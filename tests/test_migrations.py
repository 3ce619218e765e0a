"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from lingxi.models import Base
from lingxi.settings import PROJECT_ROOT

PG_URL = os.environ.get("LINGXI_TEST_DATABASE_URL")


def _upgrade(url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


async def _check_migrated(url: str) -> None:
    # env.py runs its own event loop, so the upgrade runs in a thread.
    await asyncio.to_thread(_upgrade, url)
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
        assert diff == [], f"models and migrations differ: {diff}"
        await conn.execute(
            text(
                "INSERT INTO audit_log (at, actor_type, actor_id, actor_name, action, subject_type,"
                " subject_id) VALUES (CURRENT_TIMESTAMP, 'system', 't', 't', 'test', 'test', '1')"
            )
        )
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(text("UPDATE audit_log SET action = 'changed'"))
        await conn.rollback()
    await engine.dispose()


async def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    await _check_migrated(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL variant only (LINGXI_TEST_DATABASE_URL)")
async def test_migrations_match_models_on_postgresql() -> None:
    assert PG_URL
    name = f"lingxi_mig_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await _check_migrated(f"{PG_URL.rsplit('/', 1)[0]}/{name}")
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
