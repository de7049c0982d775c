"""Initial schema: parks, factories, resources + windows, orders + steps, quotes, bookings.

On PostgreSQL, bookings of capacity-1 resources (``exclusive``) that hold time may not overlap
on one resource: an exclusion constraint over tstzrange (btree_gist for the ``=`` on the id).
Capacity > 1 service lines and SQLite are checked inside the booking transaction instead.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('market',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('horizon_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('transport', sa.JSON(), nullable=False),
    sa.Column('objective', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market'))
    )
    op.create_table('orders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('customer', sa.String(length=64), nullable=False),
    sa.Column('material', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('due', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('pricing', sa.String(length=16), nullable=False),
    sa.Column('max_factories', sa.Integer(), nullable=False),
    sa.Column('min_lot', sa.Integer(), nullable=False),
    sa.Column('certifications', sa.JSON(), nullable=False),
    sa.Column('parks', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_orders_quantity_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer'), ['customer'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_position'), ['position'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_status'), ['status'], unique=False)

    op.create_table('parks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parks'))
    )
    op.create_table('factories',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('park_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('rating', sa.Float(), nullable=False),
    sa.Column('certifications', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['park_id'], ['parks.id'], name=op.f('fk_factories_park_id_parks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_factories'))
    )
    with op.batch_alter_table('factories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_factories_park_id'), ['park_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_factories_position'), ['position'], unique=False)

    op.create_table('order_steps',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('process', sa.String(length=64), nullable=False),
    sa.Column('minutes_per_piece', sa.Float(), nullable=False),
    sa.Column('setup_min', sa.Integer(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_steps_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'id', name=op.f('pk_order_steps'))
    )
    op.create_table('quotes',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('plan_status', sa.String(length=16), nullable=False),
    sa.Column('total_cost', sa.Float(), nullable=False),
    sa.Column('completion', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lateness_min', sa.Integer(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('cost_breakdown', sa.JSON(), nullable=False),
    sa.Column('solver', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_quotes_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes'))
    )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quotes_order_id'), ['order_id'], unique=False)

    op.create_table('resources',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('factory_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('process', sa.String(length=64), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('speed', sa.Float(), nullable=False),
    sa.Column('setup_min', sa.Integer(), nullable=False),
    sa.Column('time_share_per_hour', sa.Float(), nullable=True),
    sa.Column('per_piece', sa.Float(), nullable=True),
    sa.Column('by_value_pct', sa.Float(), nullable=True),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_resources_capacity_positive')),
    sa.CheckConstraint('speed > 0', name=op.f('ck_resources_speed_positive')),
    sa.ForeignKeyConstraint(['factory_id'], ['factories.id'], name=op.f('fk_resources_factory_id_factories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resources'))
    )
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resources_factory_id'), ['factory_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resources_process'), ['process'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=True),
    sa.Column('step_id', sa.String(length=64), nullable=True),
    sa.Column('quote_id', sa.String(length=64), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pricing', sa.String(length=16), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('scrap', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('"end" > start', name=op.f('ck_bookings_end_after_start')),
    sa.CheckConstraint('done >= 0 AND scrap >= 0', name=op.f('ck_bookings_progress_nonnegative')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_bookings_quote_id_quotes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_bookings_resource_id_resources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_quote_id'), ['quote_id'], unique=False)
        batch_op.create_index('ix_bookings_resource_start', ['resource_id', 'start'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
            "(resource_id WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
            "WHERE (exclusive AND status IN ('booked', 'running', 'done'))"
        )

    op.create_table('windows',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.CheckConstraint('"end" > start', name=op.f('ck_windows_end_after_start')),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], name=op.f('fk_windows_resource_id_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_windows'))
    )
    with op.batch_alter_table('windows', schema=None) as batch_op:
        batch_op.create_index('ix_windows_resource_start', ['resource_id', 'start'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('windows', schema=None) as batch_op:
        batch_op.drop_index('ix_windows_resource_start')

    op.drop_table('windows')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_resource_start')
        batch_op.drop_index(batch_op.f('ix_bookings_quote_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_order_id'))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlap")
    op.drop_table('bookings')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_process'))
        batch_op.drop_index(batch_op.f('ix_resources_factory_id'))

    op.drop_table('resources')
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quotes_order_id'))

    op.drop_table('quotes')
    op.drop_table('order_steps')
    with op.batch_alter_table('factories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_factories_position'))
        batch_op.drop_index(batch_op.f('ix_factories_park_id'))

    op.drop_table('factories')
    op.drop_table('parks')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_status'))
        batch_op.drop_index(batch_op.f('ix_orders_position'))
        batch_op.drop_index(batch_op.f('ix_orders_customer'))

    op.drop_table('orders')
    op.drop_table('market')
