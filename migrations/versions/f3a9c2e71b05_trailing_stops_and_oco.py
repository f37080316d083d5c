"""trailing stops and one-cancels-other pairs: longer order types, a trail, an activation price, a link

Revision ID: f3a9c2e71b05
Revises: b5a3e1f7c902
Create Date: 2026-12-01 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'f3a9c2e71b05'
down_revision: str | None = 'b5a3e1f7c902'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column(
            'type',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=20),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column('trail_ticks', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('activation_price_ticks', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('link_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('link_id')
        batch_op.drop_column('activation_price_ticks')
        batch_op.drop_column('trail_ticks')
        batch_op.alter_column(
            'type',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=12),
            existing_nullable=False,
        )
