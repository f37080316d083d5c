"""cancel timers: the dead-man switch of POST /v1/orders/cancel-all-after

Revision ID: e4b7d1c9a2f3
Revises: 5e8a1c3f7d92
Create Date: 2026-11-30 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e4b7d1c9a2f3'
down_revision: str | None = '5e8a1c3f7d92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'cancel_timers',
        sa.Column('account_id', sa.String(length=40), nullable=False),
        sa.Column('timeout_s', sa.Integer(), nullable=False),
        sa.Column('deadline_us', sa.BigInteger(), nullable=True),
        sa.Column('armed_us', sa.BigInteger(), nullable=False),
        sa.Column('fired_us', sa.BigInteger(), nullable=True),
        sa.Column('cancelled_ids', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('account_id'),
    )
    with op.batch_alter_table('cancel_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cancel_timers_deadline_us'), ['deadline_us'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cancel_timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cancel_timers_deadline_us'))
    op.drop_table('cancel_timers')
