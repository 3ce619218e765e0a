"""tickets and notifications

Revision ID: 3c9b7e2f1a64
Revises: 8e1d4f6a2c70
Create Date: 2026-11-29 21:15:09.165650
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lingxi.core.db

revision: str = "3c9b7e2f1a64"
down_revision: str | None = "8e1d4f6a2c70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_type", sa.String(length=10), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.Column("channel_hint", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("send_after", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_due", ["status", "send_after"], unique=False)
        batch_op.create_index(
            "ix_notifications_recipient", ["recipient_type", "recipient_id", "id"], unique=False
        )

    op.create_table(
        "ticket_automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_automation_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_automation_rules_code")),
    )
    op.create_table(
        "ticket_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("week", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_calendars")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_calendars_code")),
    )
    op.create_table(
        "ticket_sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warn_ratio", sa.Float(), nullable=False),
        sa.Column("calendar_code", sa.String(length=40), nullable=True),
        sa.Column("escalation_minutes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_sla_policies")),
    )
    op.create_table(
        "ticket_calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["ticket_calendars.id"],
            name=op.f("fk_ticket_calendar_days_calendar_id_ticket_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_calendar_days")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_ticket_calendar_days_calendar_id_day")),
    )
    op.create_table(
        "ticket_hot_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("ticket_ids", sa.JSON(), nullable=False),
        sa.Column("customer_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["staff_users.id"],
            name=op.f("fk_ticket_hot_issues_acknowledged_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_hot_issues")),
    )
    with op.batch_alter_table("ticket_hot_issues", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_hot_issues_category_status", ["category", "status"], unique=False)

    op.create_table(
        "ticket_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("branch_code", sa.String(length=20), nullable=True),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.Column("calendar_code", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["head_id"], ["staff_users.id"], name=op.f("fk_ticket_teams_head_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["staff_users.id"], name=op.f("fk_ticket_teams_lead_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["ticket_teams.id"], name=op.f("fk_ticket_teams_parent_id_ticket_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_teams")),
        sa.UniqueConstraint("code", name=op.f("uq_ticket_teams_code")),
    )
    op.create_table(
        "ticket_dispatch_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("product", sa.String(length=30), nullable=True),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("branch_code", sa.String(length=20), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("to_customer_branch", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["ticket_teams.id"], name=op.f("fk_ticket_dispatch_rules_team_id_ticket_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_dispatch_rules")),
    )
    op.create_table(
        "ticket_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_ticket_team_members_staff_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["ticket_teams.id"],
            name=op.f("fk_ticket_team_members_team_id_ticket_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_team_members")),
        sa.UniqueConstraint("team_id", "staff_id", name=op.f("uq_ticket_team_members_team_id_staff_id")),
    )
    with op.batch_alter_table("ticket_team_members", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_team_members_staff", ["staff_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=24), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("product", sa.String(length=30), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_by_type", sa.String(length=10), nullable=False),
        sa.Column("created_by_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("branch_code", sa.String(length=20), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("open_subtasks", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("last_urged_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=500), nullable=True),
        sa.Column("rated_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_policy_id", sa.Integer(), nullable=True),
        sa.Column("sla_calendar", sa.String(length=40), nullable=True),
        sa.Column("first_response_due_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_met", sa.Boolean(), nullable=True),
        sa.Column("warn_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution_met", sa.Boolean(), nullable=True),
        sa.Column("breached_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_paused_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("auto_close_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_next_check_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff_users.id"], name=op.f("fk_tickets_assignee_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_tickets_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tickets_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["tickets.id"], name=op.f("fk_tickets_merged_into_id_tickets")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["tickets.id"], name=op.f("fk_tickets_parent_id_tickets")),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"],
            ["ticket_sla_policies.id"],
            name=op.f("fk_tickets_sla_policy_id_ticket_sla_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["ticket_teams.id"], name=op.f("fk_tickets_team_id_ticket_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_tickets_ticket_no")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_assignee_status", ["assignee_id", "status"], unique=False)
        batch_op.create_index("ix_tickets_branch_status", ["branch_code", "status"], unique=False)
        batch_op.create_index("ix_tickets_category_created", ["category", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_customer_created", ["customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_parent", ["parent_id"], unique=False)
        batch_op.create_index("ix_tickets_sla_next_check", ["sla_next_check_at"], unique=False)
        batch_op.create_index("ix_tickets_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index("ix_tickets_team_status", ["team_id", "status", "due_at"], unique=False)

    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by_type", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_attachments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_ticket_attachments_storage_key")),
    )
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_attachments_ticket", ["ticket_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", lingxi.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_ticket", ["ticket_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_ticket")

    op.drop_table("ticket_events")
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_attachments_ticket")

    op.drop_table("ticket_attachments")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_team_status")
        batch_op.drop_index("ix_tickets_status_created")
        batch_op.drop_index("ix_tickets_sla_next_check")
        batch_op.drop_index("ix_tickets_parent")
        batch_op.drop_index("ix_tickets_customer_created")
        batch_op.drop_index("ix_tickets_category_created")
        batch_op.drop_index("ix_tickets_branch_status")
        batch_op.drop_index("ix_tickets_assignee_status")

    op.drop_table("tickets")
    with op.batch_alter_table("ticket_team_members", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_team_members_staff")

    op.drop_table("ticket_team_members")
    op.drop_table("ticket_dispatch_rules")
    op.drop_table("ticket_teams")
    with op.batch_alter_table("ticket_hot_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_hot_issues_category_status")

    op.drop_table("ticket_hot_issues")
    op.drop_table("ticket_calendar_days")
    op.drop_table("ticket_sla_policies")
    op.drop_table("ticket_calendars")
    op.drop_table("ticket_automation_rules")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_recipient")
        batch_op.drop_index("ix_notifications_due")

    op.drop_table("notifications")
