"""Accounts: organisations, accounts, API keys, the append-only audit trail, and the owner
columns factories.org_id, parks.operator_org_id, orders.org_id (issue 10).

Owner columns are plain indexed strings (nullable: rows from before this revision belong to the
platform alone): adding a foreign key would make SQLite rebuild the tables, and organisations
are never deleted. Triggers make the database itself refuse UPDATE and DELETE on audit_events.

Revision ID: 0002_accounts
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_accounts'
down_revision = '0001'
branch_labels = None
depends_on = None

_OWNERS = (("factories", "org_id"), ("parks", "operator_org_id"), ("orders", "org_id"))


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations'))
    )
    op.create_index(op.f('ix_organisations_kind'), 'organisations', ['kind'], unique=False)
    op.create_table('accounts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_accounts_org_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('email', name=op.f('uq_accounts_email'))
    )
    op.create_index(op.f('ix_accounts_org_id'), 'accounts', ['org_id'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_api_keys_org_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    op.create_index(op.f('ix_api_keys_org_id'), 'api_keys', ['org_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('actor_org_id', sa.String(length=64), nullable=True),
    sa.Column('owner_org_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    for column in ('at', 'actor_org_id', 'owner_org_id', 'action', 'object_id'):
        op.create_index(op.f(f'ix_audit_events_{column}'), 'audit_events', [column], unique=False)
    for table, column in _OWNERS:
        op.add_column(table, sa.Column(column, sa.String(length=64), nullable=True))
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)
    _append_only()


def _append_only() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
            END $$""")
        op.execute("""
            CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""")
        return
    for verb in ('UPDATE', 'DELETE'):
        op.execute(f"""
            CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit_events is append-only ({verb} refused)'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table, column in reversed(_OWNERS):
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
        # Plain ALTER (SQLite >= 3.35): a batch rebuild would drop the referenced table, and
        # with foreign keys on that cascades into resources and steps.
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    for column in ('at', 'actor_org_id', 'owner_org_id', 'action', 'object_id'):
        op.drop_index(op.f(f'ix_audit_events_{column}'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_api_keys_org_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index(op.f('ix_accounts_org_id'), table_name='accounts')
    op.drop_table('accounts')
    op.drop_index(op.f('ix_organisations_kind'), table_name='organisations')
    op.drop_table('organisations')
