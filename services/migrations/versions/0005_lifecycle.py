"""Order lifecycle: order events, webhooks + deliveries, ratings, lot records, min_credit.

Order statuses of before the lifecycle are renamed in place: booked -> accepted,
in_progress -> in_production (the API still accepts the old names in filters).

Revision ID: 0005_lifecycle
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_lifecycle'
down_revision = '0001'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('order_events',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    op.create_index(op.f('ix_order_events_order_id'), 'order_events', ['order_id'])
    op.create_index(op.f('ix_order_events_customer'), 'order_events', ['customer'])
    op.create_table('webhooks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    op.create_index(op.f('ix_webhooks_customer'), 'webhooks', ['customer'])
    op.create_table('webhook_deliveries',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.Column('event_id', _ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', _TS, nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'],
                            name=op.f('fk_webhook_deliveries_webhook_id_webhooks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('webhook_id', 'event_id', name='one_delivery_per_event')
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries',
                    ['status', 'next_attempt_at'])
    op.create_table('lot_records',
    sa.Column('booking_id', sa.String(length=64), nullable=False),
    sa.Column('factory_id', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('scrap', sa.Integer(), nullable=False),
    sa.Column('booked_end', _TS, nullable=False),
    sa.Column('finished_at', _TS, nullable=False),
    sa.Column('late_min', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('booking_id', name=op.f('pk_lot_records'))
    )
    op.create_index(op.f('ix_lot_records_factory_id'), 'lot_records', ['factory_id'])
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('factory_id', sa.String(length=64), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=2000), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_ratings_order_id_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('order_id', 'side', 'factory_id', name='once_per_pair')
    )
    op.create_index(op.f('ix_ratings_order_id'), 'ratings', ['order_id'])
    op.create_index(op.f('ix_ratings_factory_id'), 'ratings', ['factory_id'])
    op.create_index(op.f('ix_ratings_customer'), 'ratings', ['customer'])
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('min_credit', sa.Float(), nullable=True))
    op.execute("UPDATE orders SET status = 'accepted' WHERE status = 'booked'")
    op.execute("UPDATE orders SET status = 'in_production' WHERE status = 'in_progress'")


def downgrade() -> None:
    op.execute("UPDATE orders SET status = 'booked' WHERE status = 'accepted'")
    op.execute("UPDATE orders SET status = 'in_progress' WHERE status = 'in_production'")
    # The statuses the old code does not know read as the nearest it does.
    op.execute("UPDATE orders SET status = 'new' WHERE status = 'expired'")
    op.execute("UPDATE orders SET status = 'cancelled' WHERE status = 'failed'")
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('min_credit')
    op.drop_table('ratings')
    op.drop_table('lot_records')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
    op.drop_table('order_events')
