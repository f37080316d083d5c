"""serve processes: which flopex serve holds the books, for a standby to send clients there

Revision ID: a9d3f1b7c254
Revises: f3a9c2e71b05
Create Date: 2026-12-01 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'a9d3f1b7c254'
down_revision: str | None = 'f3a9c2e71b05'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'serve_processes',
        sa.Column('url', sa.String(length=200), nullable=False),
        sa.Column('writer', sa.Boolean(), nullable=False),
        sa.Column('heartbeat_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('url'),
    )
    with op.batch_alter_table('serve_processes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serve_processes_heartbeat_us'), ['heartbeat_us'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('serve_processes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_serve_processes_heartbeat_us'))
    op.drop_table('serve_processes')
