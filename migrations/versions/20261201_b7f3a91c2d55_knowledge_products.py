"""knowledge products: the product names an FAQ version is about

Revision ID: b7f3a91c2d55
Revises: 9d4e2b7c5a18
Create Date: 2026-12-01 10:12:40.118204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7f3a91c2d55"
down_revision: str | None = "9d4e2b7c5a18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing versions are about no product (the server default); [{"name", "aliases"}, …] from now on.
    with op.batch_alter_table("kb_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("products", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("kb_versions", schema=None) as batch_op:
        batch_op.drop_column("products")
