"""hedges: the buyer's desk executing a plan (hedges, their legs and the orders each round placed)

Revision ID: e4b8d2c61a70
Revises: 5e8b2d7f4a91
Create Date: 2026-11-30 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'e4b8d2c61a70'
down_revision: str | None = '5e8b2d7f4a91'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hedges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('slippage_ppm', sa.Integer(), nullable=False),
    sa.Column('means', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('scale_ppm', sa.Integer(), nullable=False),
    sa.Column('rounds', sa.Integer(), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.Column('cancelled_us', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'idempotency_key', name='uq_hedges_idempotency')
    )
    with op.batch_alter_table('hedges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hedges_account_id'), ['account_id'], unique=False)

    op.create_table('hedge_legs',
    sa.Column('hedge_id', sa.Integer(), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('planned_lots', sa.Integer(), nullable=False),
    sa.Column('target_lots', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hedge_id'], ['hedges.id'], ),
    sa.ForeignKeyConstraint(['symbol'], ['instruments.symbol'], ),
    sa.PrimaryKeyConstraint('hedge_id', 'symbol')
    )
    op.create_table('hedge_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hedge_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_order_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('lots', sa.Integer(), nullable=False),
    sa.Column('limit_ticks', sa.BigInteger(), nullable=False),
    sa.Column('refused', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['hedge_id'], ['hedges.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hedge_id', 'round', 'symbol', name='uq_hedge_orders_round')
    )
    with op.batch_alter_table('hedge_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hedge_orders_hedge_id'), ['hedge_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hedge_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hedge_orders_hedge_id'))
    op.drop_table('hedge_orders')
    op.drop_table('hedge_legs')
    with op.batch_alter_table('hedges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hedges_account_id'))
    op.drop_table('hedges')
