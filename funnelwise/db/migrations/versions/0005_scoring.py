"""scoring: score models, versions, contact scores

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 05:35:59.335055
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from funnelwise.db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_models",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("current_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_models")),
        sa.UniqueConstraint("name", name=op.f("uq_score_models_name")),
    )
    op.create_table(
        "score_model_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reference_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("half_life_days", sa.Float(), nullable=True),
        sa.Column("cap", sa.Float(), nullable=True),
        sa.Column("grade_scale", sa.String(length=16), nullable=True),
        sa.Column("threshold_1", sa.Float(), nullable=True),
        sa.Column("threshold_2", sa.Float(), nullable=True),
        sa.Column("threshold_3", sa.Float(), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["score_models.id"],
            name=op.f("fk_score_model_versions_model_id_score_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_model_versions")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_score_model_versions_model_id_version")),
    )
    op.create_table(
        "contact_scores",
        sa.Column("version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fixed", sa.Float(), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column(
            "by_rule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_scores_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["score_model_versions.id"],
            name=op.f("fk_contact_scores_version_id_score_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "contact_id", name=op.f("pk_contact_scores")),
    )
    op.create_index("ix_contact_scores_contact_id", "contact_scores", ["contact_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contact_scores_contact_id", table_name="contact_scores")

    op.drop_table("contact_scores")
    op.drop_table("score_model_versions")
    op.drop_table("score_models")
