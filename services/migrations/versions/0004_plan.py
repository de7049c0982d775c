"""Work orders the shop floor answers: bookings.work_order (sent | accepted | declined).

A declined work order keeps its row (cancelled) with the factory's reason, so the order's
history and the factory's record show it.

Revision ID: 0004_plan
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_plan'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_order', sa.String(length=16), nullable=False,
                                      server_default='sent'))
        batch_op.add_column(sa.Column('work_order_note', sa.String(length=500),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('work_order_note')
        batch_op.drop_column('work_order')
