"""shared API state: idempotency records and rate-limit buckets in the database

Revision ID: f2a6c8e1d437
Revises: e4b7d2a9c315
Create Date: 2026-12-01 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'f2a6c8e1d437'
down_revision: str | None = 'e4b7d2a9c315'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'idempotency_records',
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('done', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('headers', sa.Text(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'key'),
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_created_us'), ['created_us'], unique=False)
    op.create_table(
        'rate_buckets',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('updated_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('rate_buckets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_buckets_updated_us'), ['updated_us'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_buckets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_buckets_updated_us'))
    op.drop_table('rate_buckets')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_created_us'))
    op.drop_table('idempotency_records')
