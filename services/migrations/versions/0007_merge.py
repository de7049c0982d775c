"""Join the four branches that grew from the initial schema (accounts, plan, lifecycle, jobs).

Revision ID: 0007_merge
Revises: 0002_accounts, 0004_plan, 0005_lifecycle, 0006_jobs
Create Date: 2026-12-02

A merge revision changes no table: it gives the revisions written after it one parent, so
``alembic history`` reads as one line again.
"""

from __future__ import annotations

revision = '0007_merge'
down_revision = ('0002_accounts', '0004_plan', '0005_lifecycle', '0006_jobs')
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the parents' tables are all there."""


def downgrade() -> None:
    """Nothing to undo."""
