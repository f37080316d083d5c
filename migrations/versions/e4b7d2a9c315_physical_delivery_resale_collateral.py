"""physical delivery: resale, access handles, per-day escrow, provider collateral

Revision ID: e4b7d2a9c315
Revises: e4b8d2c61a70
Create Date: 2026-11-30 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'e4b7d2a9c315'
down_revision: str | None = 'e4b8d2c61a70'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('collateral_per_gpu_day_micros', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    with op.batch_alter_table('listings') as batch:
        batch.add_column(sa.Column('spec', _text(length=200), nullable=True))
        batch.add_column(sa.Column('collateral_micros', sa.BigInteger(), nullable=False, server_default='0'))
        batch.create_check_constraint('ck_listings_collateral', 'collateral_micros >= 0')
    with op.batch_alter_table('trades') as batch:
        batch.add_column(sa.Column('resale', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('region', _text(length=40), nullable=True))
        batch.add_column(sa.Column('escrow_micros', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('access_handle', _text(length=500), nullable=True))
        batch.add_column(sa.Column('handle_us', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('alert', _text(length=200), nullable=True))
    op.create_table('delivery_days',
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('day_us', sa.BigInteger(), nullable=False),
    sa.Column('escrow_micros', sa.BigInteger(), nullable=False),
    sa.Column('status', _text(length=10), nullable=False),
    sa.Column('reason', _text(length=200), nullable=True),
    sa.Column('collateral_micros', sa.BigInteger(), nullable=False),
    sa.Column('decided_us', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('escrow_micros >= 0', name='ck_delivery_days_escrow'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ),
    sa.PrimaryKeyConstraint('delivery_id', 'day_us')
    )
    op.create_index(op.f('ix_delivery_days_status'), 'delivery_days', ['status'], unique=False)
    # every existing account gets its (empty) collateral bucket
    op.execute(
        "INSERT INTO balances (owner, bucket, amount, allow_negative) "
        "SELECT DISTINCT owner, 'collateral', 0, false FROM balances "
        "WHERE bucket = 'available' AND owner <> 'exchange'"
    )


def downgrade() -> None:
    op.execute("DELETE FROM entries WHERE bucket = 'collateral'")
    op.execute("DELETE FROM balances WHERE bucket = 'collateral'")
    op.drop_index(op.f('ix_delivery_days_status'), table_name='delivery_days')
    op.drop_table('delivery_days')
    with op.batch_alter_table('deliveries') as batch:
        for column in ('alert', 'handle_us', 'access_handle', 'escrow_micros', 'region'):
            batch.drop_column(column)
    with op.batch_alter_table('trades') as batch:
        batch.drop_column('resale')
    with op.batch_alter_table('listings') as batch:
        batch.drop_constraint('ck_listings_collateral', type_='check')
        batch.drop_column('collateral_micros')
        batch.drop_column('spec')
    with op.batch_alter_table('products') as batch:
        batch.drop_column('collateral_per_gpu_day_micros')
