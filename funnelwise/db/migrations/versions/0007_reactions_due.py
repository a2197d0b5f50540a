"""reactions queue: contacts whose segments (and later scores, stage, triggers) are due a decision

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from funnelwise.db.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reactions_due",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reactions_due")),
    )
    op.create_index(op.f("ix_reactions_due_contact_id"), "reactions_due", ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reactions_due_contact_id"), table_name="reactions_due")
    op.drop_table("reactions_due")
