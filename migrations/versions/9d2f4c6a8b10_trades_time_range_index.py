"""trades time-range index

Revision ID: 9d2f4c6a8b10
Revises: c1ea7a9b0e14
Create Date: 2026-11-30 18:45:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '9d2f4c6a8b10'
down_revision: str | None = 'c1ea7a9b0e14'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.create_index('ix_trades_symbol_created_us', ['symbol', 'created_us'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_index('ix_trades_symbol_created_us')
