"""The audit table refuses UPDATE and DELETE in the database itself (triggers), not only in the code."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from lingxi.audit import models as audit_models
from lingxi.audit.models import AuditLog
from lingxi.audit.service import do_record
from lingxi.core.actor import Actor


async def _one_row(db) -> int:
    async with db.sessionmaker() as s:
        row = do_record(
            session=s,
            actor=Actor.system("test"),
            action="test.append_only",
            subject_type="t",
            subject_id="1",
            after={"n": 1},
        )
        await s.commit()
        return row.id


@pytest.mark.parametrize(
    "statement",
    [
        lambda row_id: update(AuditLog).where(AuditLog.id == row_id).values(action="tampered"),
        lambda row_id: update(AuditLog).values(reason="bulk"),
        lambda row_id: delete(AuditLog).where(AuditLog.id == row_id),
        lambda row_id: delete(AuditLog),
        lambda row_id: text(f"UPDATE audit_log SET after = NULL WHERE id = {row_id}"),
        lambda row_id: text("DELETE FROM audit_log"),
    ],
    ids=["update-one", "update-all", "delete-one", "delete-all", "raw-update", "raw-delete"],
)
async def test_update_and_delete_are_refused(db, statement):
    row_id = await _one_row(db)
    async with db.sessionmaker() as s:
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(statement(row_id))
        await s.rollback()
    async with db.sessionmaker() as s:
        row = await s.get(AuditLog, row_id)
        assert row is not None and row.action == "test.append_only" and row.after == {"n": 1}
        assert await s.scalar(select(func.count()).select_from(AuditLog)) == 1


async def test_orm_changes_to_a_loaded_row_are_refused(db):
    row_id = await _one_row(db)
    async with db.sessionmaker() as s:
        row = await s.get(AuditLog, row_id)
        assert row is not None
        row.reason = "edited later"
        with pytest.raises(DBAPIError, match="append-only"):
            await s.commit()


async def test_inserts_still_work(db):
    await _one_row(db)
    await _one_row(db)
    async with db.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog)) == 2


def test_trigger_sql_is_reusable_in_migrations():
    """The lead runs these constants verbatim with op.execute(); keep them free of % and :name."""
    for statements in audit_models.AUDIT_APPEND_ONLY_DDL.values():
        for sql in statements:
            assert "%" not in sql and ":" not in sql.replace("::", "")
    assert set(audit_models.AUDIT_APPEND_ONLY_DDL) == {"sqlite", "postgresql"}
    assert "RAISE(ABORT" in audit_models.SQLITE_AUDIT_NO_UPDATE
    assert "BEFORE DELETE" in audit_models.SQLITE_AUDIT_NO_DELETE
    assert "plpgsql" in audit_models.POSTGRES_AUDIT_FUNCTION
    assert "BEFORE UPDATE OR DELETE" in audit_models.POSTGRES_AUDIT_TRIGGER
