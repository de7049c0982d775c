"""quote_jobs: one row per answered quote request (matcher exactly-once in effect).

Revision ID: 0006_jobs
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_jobs'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quote_jobs',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('consumer', sa.String(length=128), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('quote_ids', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                            name=op.f('fk_quote_jobs_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_quote_jobs'))
    )
    with op.batch_alter_table('quote_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_jobs_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quote_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_jobs_order_id'))
    op.drop_table('quote_jobs')
