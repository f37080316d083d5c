"""book partitions: books split by product across shards, each partition with its own command log

Revision ID: c5e2a8f14d73
Revises: f3a1c5e7b9d2
Create Date: 2026-12-01 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'c5e2a8f14d73'
down_revision: str | None = 'f3a1c5e7b9d2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partition', sa.String(length=16), nullable=False, server_default='*'))
        batch_op.create_index('ix_commands_partition_id', ['partition', 'id'], unique=False)
    with op.batch_alter_table('serve_processes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('books', sa.String(length=2000), nullable=False, server_default=''))
    op.create_table(
        'book_partitions',
        sa.Column('product', sa.String(length=16), nullable=False),
        sa.Column('claimed_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('product'),
    )


def downgrade() -> None:
    op.drop_table('book_partitions')
    with op.batch_alter_table('serve_processes', schema=None) as batch_op:
        batch_op.drop_column('books')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index('ix_commands_partition_id')
        batch_op.drop_column('partition')
