"""clearing instructions carry note revisions too: the elected pool servicing's face and retirement
of a note, for the shard owning the note's book

Revision ID: e4a1c7d9b352
Revises: d7b3f9a2c610
Create Date: 2026-12-01 05:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e4a1c7d9b352'
down_revision: str | None = 'd7b3f9a2c610'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clearing_instructions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=16), nullable=False, server_default='liquidate')
        )
        batch_op.add_column(sa.Column('symbol', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('face_micros', sa.BigInteger(), nullable=True))
        batch_op.alter_column('call_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('account_id', existing_type=sa.String(length=40), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM clearing_instructions WHERE kind <> 'liquidate'")
    with op.batch_alter_table('clearing_instructions', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('call_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('face_micros')
        batch_op.drop_column('symbol')
        batch_op.drop_column('kind')
