"""clearing instructions: the outbox through which the elected clearing pass liquidates on shards

Revision ID: d7b3f9a2c610
Revises: c5e2a8f14d73
Create Date: 2026-12-01 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd7b3f9a2c610'
down_revision: str | None = 'c5e2a8f14d73'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'clearing_instructions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('product', sa.String(length=64), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('applied_us', sa.BigInteger(), nullable=True),
        sa.Column('outcome', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['call_id'], ['margin_calls.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('clearing_instructions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clearing_instructions_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_clearing_instructions_pending', ['product', 'applied_us'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('clearing_instructions', schema=None) as batch_op:
        batch_op.drop_index('ix_clearing_instructions_pending')
        batch_op.drop_index(batch_op.f('ix_clearing_instructions_call_id'))
    op.drop_table('clearing_instructions')
