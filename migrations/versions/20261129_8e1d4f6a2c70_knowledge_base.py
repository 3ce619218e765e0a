"""knowledge base: FAQ entries with versions, and the knowledge revision stamp

Revision ID: 8e1d4f6a2c70
Revises: 5a7c2e9d4b13
Create Date: 2026-11-29 21:25:50.816852
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lingxi.core.db

revision: str = "8e1d4f6a2c70"
down_revision: str | None = "5a7c2e9d4b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("updated_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_state")),
    )
    op.create_table(
        "kb_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("head_number", sa.Integer(), nullable=False),
        sa.Column("live_number", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("intent", sa.String(length=60), nullable=True),
        sa.Column("standard_question", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_users.id"], name=op.f("fk_kb_entries_created_by_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_kb_entries_key")),
    )
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.create_index("ix_kb_entries_intent", ["intent"], unique=False)
        batch_op.create_index("ix_kb_entries_language_category", ["language", "category"], unique=False)
        batch_op.create_index("ix_kb_entries_status", ["status", "updated_at"], unique=False)

    op.create_table(
        "kb_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("intent", sa.String(length=60), nullable=True),
        sa.Column("standard_question", sa.String(length=200), nullable=False),
        sa.Column("similar_questions", sa.JSON(), nullable=False),
        sa.Column("answer_html", sa.Text(), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("contributor_ids", sa.JSON(), nullable=False),
        sa.Column("submitted_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_name", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_name", sa.String(length=100), nullable=True),
        sa.Column("review_outcome", sa.String(length=20), nullable=True),
        sa.Column("review_comment", sa.String(length=1000), nullable=True),
        sa.Column("published_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("archived_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("archive_reason", sa.String(length=20), nullable=True),
        sa.Column("archive_note", sa.String(length=500), nullable=True),
        sa.Column("created_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_users.id"], name=op.f("fk_kb_versions_author_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["kb_entries.id"],
            name=op.f("fk_kb_versions_entry_id_kb_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["staff_users.id"], name=op.f("fk_kb_versions_reviewer_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_versions")),
        sa.UniqueConstraint("entry_id", "number", name=op.f("uq_kb_versions_entry_id_number")),
    )
    with op.batch_alter_table("kb_versions", schema=None) as batch_op:
        batch_op.create_index("ix_kb_versions_status_language", ["status", "language"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_versions_status_language")

    op.drop_table("kb_versions")
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_entries_status")
        batch_op.drop_index("ix_kb_entries_language_category")
        batch_op.drop_index("ix_kb_entries_intent")

    op.drop_table("kb_entries")
    op.drop_table("kb_state")
