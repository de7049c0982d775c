"""market_version: one row counting market writes, so every API process sees another's edits.

Revision ID: 0013_market_version
Revises: 0007_merge
Create Date: 2026-12-02

The quote market cache (services/scenario/market_cache.py) compares this number with the one
its copy was read at; every market write bumps it in its own transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_market_version'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('market_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_market_version'))
    )
    # Version 1, not 0: a cache that read an empty table (0) reads again after the upgrade.
    op.bulk_insert(table, [{'id': 1, 'version': 1}])


def downgrade() -> None:
    op.drop_table('market_version')
