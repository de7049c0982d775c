"""order_steps: the step extensions (per-resource cycle times, only_on); joins 0010 and 0013.

Revision ID: 0014_step_extensions
Revises: 0010_web, 0013_market_version
Create Date: 2026-12-02

The API refused ``minutes_per_piece_on`` and ``only_on`` (docs/formats.md#scenario) because the
order table had nowhere to keep them; these columns store them. Existing steps get the empty
values (no per-resource times, any capable resource), which is what they meant. The revision
also merges the two heads that grew from 0007_merge, so ``migrate`` ends at one head again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_step_extensions'
down_revision = ('0010_web', '0013_market_version')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minutes_per_piece_on', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('only_on', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('order_steps', schema=None) as batch_op:
        batch_op.drop_column('only_on')
        batch_op.drop_column('minutes_per_piece_on')
