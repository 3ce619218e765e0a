"""The append-only audit log (UPDATE and DELETE are refused by database triggers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_subject", "subject_type", "subject_id", "at"),
        Index("ix_audit_actor", "actor_type", "actor_id", "at"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(300), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)


# --- append-only in the database itself ---------------------------------------------------------------
# Triggers refuse UPDATE and DELETE on audit_log, whatever the application does. The SQL is kept in
# constants so the Alembic migration can execute exactly the same statements (op.execute(<constant>)).
# The strings contain no '%' and no ':name' so they are safe both in DDL() and in op.execute()/text().
# TRUNCATE is not refused by a trigger (the PostgreSQL test fixture truncates every table); in production
# grant the application role INSERT and SELECT only on audit_log (see docs/audit.md).

AUDIT_APPEND_ONLY_MESSAGE = "audit_log is append-only"

SQLITE_AUDIT_NO_UPDATE = f"""
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY_MESSAGE}; UPDATE refused');
END
""".strip()

SQLITE_AUDIT_NO_DELETE = f"""
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY_MESSAGE}; DELETE refused');
END
""".strip()

SQLITE_AUDIT_DROP_TRIGGERS = (
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
)

POSTGRES_AUDIT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = '{AUDIT_APPEND_ONLY_MESSAGE}; ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$
""".strip()

POSTGRES_AUDIT_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
""".strip()

POSTGRES_AUDIT_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_refuse_change()",
)

# In order, per dialect: what `Base.metadata.create_all` (tests, `lingxi migrate` on a fresh file) runs.
AUDIT_APPEND_ONLY_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (SQLITE_AUDIT_NO_UPDATE, SQLITE_AUDIT_NO_DELETE),
    "postgresql": (POSTGRES_AUDIT_FUNCTION, POSTGRES_AUDIT_TRIGGER),
}

for _dialect, _statements in AUDIT_APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditLog.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
