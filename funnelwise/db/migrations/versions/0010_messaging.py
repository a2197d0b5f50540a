"""messaging: templates, suppressions, broadcasts, outbox delivery

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 16:03:40
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from funnelwise.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_templates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('default_locale', sa.String(length=35), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('compiled', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_message_templates_name'))
    )
    op.create_table('suppressions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
    sa.UniqueConstraint('kind', 'address', name=op.f('uq_suppressions_kind_address'))
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('template', sa.String(length=255), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('throttle_per_minute', sa.Integer(), nullable=True),
    sa.Column('send_time_optimization', sa.Boolean(), nullable=False),
    sa.Column('ab', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('winner', sa.String(length=64), nullable=True),
    sa.Column('conversion_event', sa.String(length=255), nullable=True),
    sa.Column('audience', sa.Integer(), nullable=False),
    sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('tested_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['static_lists.id'], name=op.f('fk_broadcasts_list_id_static_lists'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_broadcasts_segment_id_segments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts')),
    sa.UniqueConstraint('name', name=op.f('uq_broadcasts_name'))
    )
    op.add_column('consents', sa.Column('reconfirmation_sent_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.add_column('outbox_messages', sa.Column('variant', sa.String(length=64), nullable=True))
    op.add_column('outbox_messages', sa.Column('purpose', sa.String(length=16), nullable=True))
    op.add_column('outbox_messages', sa.Column('topic', sa.String(length=64), nullable=True))
    op.add_column('outbox_messages', sa.Column('due_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('attempts', sa.Integer(), nullable=False, server_default="0"))
    op.add_column('outbox_messages', sa.Column('reason', sa.Text(), nullable=True))
    op.add_column('outbox_messages', sa.Column('recipient', sa.String(length=320), nullable=True))
    op.add_column('outbox_messages', sa.Column('provider', sa.String(length=32), nullable=True))
    op.add_column('outbox_messages', sa.Column('provider_message_id', sa.String(length=255), nullable=True))
    op.add_column('outbox_messages', sa.Column('rendered', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.add_column('outbox_messages', sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('opened_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('clicked_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('bounced_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('complained_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox_messages', sa.Column('unsubscribed_at', UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox_messages SET due_at = created_at")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("due_at", existing_type=UTCDateTime(timezone=True), nullable=False)
    op.drop_index(op.f('ix_outbox_messages_status_created_at'), table_name='outbox_messages')
    for name, columns, where in (
        ("ix_outbox_messages_due", ["due_at", "id"], "status = 'queued'"),
        ("ix_outbox_messages_sending", ["updated_at"], "status = 'sending'"),
        ("ix_outbox_messages_provider_message_id", ["provider_message_id"], "provider_message_id IS NOT NULL"),
        ("ix_outbox_messages_broadcast_id", ["broadcast_id"], "broadcast_id IS NOT NULL"),
    ):
        op.create_index(
            name,
            "outbox_messages",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name in (
        "ix_outbox_messages_broadcast_id",
        "ix_outbox_messages_provider_message_id",
        "ix_outbox_messages_sending",
        "ix_outbox_messages_due",
    ):
        op.drop_index(name, table_name="outbox_messages")
    op.create_index(op.f('ix_outbox_messages_status_created_at'), 'outbox_messages', ['status', 'created_at'], unique=False)
    op.drop_column('outbox_messages', 'unsubscribed_at')
    op.drop_column('outbox_messages', 'complained_at')
    op.drop_column('outbox_messages', 'bounced_at')
    op.drop_column('outbox_messages', 'clicked_at')
    op.drop_column('outbox_messages', 'opened_at')
    op.drop_column('outbox_messages', 'delivered_at')
    op.drop_column('outbox_messages', 'sent_at')
    op.drop_column('outbox_messages', 'rendered')
    op.drop_column('outbox_messages', 'provider_message_id')
    op.drop_column('outbox_messages', 'provider')
    op.drop_column('outbox_messages', 'recipient')
    op.drop_column('outbox_messages', 'reason')
    op.drop_column('outbox_messages', 'attempts')
    op.drop_column('outbox_messages', 'due_at')
    op.drop_column('outbox_messages', 'topic')
    op.drop_column('outbox_messages', 'purpose')
    op.drop_column('outbox_messages', 'variant')
    op.drop_column('outbox_messages', 'broadcast_id')
    op.drop_column('consents', 'reconfirmation_sent_at')
    op.drop_table('broadcasts')
    op.drop_table('suppressions')
    op.drop_table('message_templates')
