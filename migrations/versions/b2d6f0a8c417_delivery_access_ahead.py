"""delivery access ahead of the window: handles attached per listing and forward, endpoints

Revision ID: b2d6f0a8c417
Revises: f2a6c8e1d437
Create Date: 2026-12-01 01:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'b2d6f0a8c417'
down_revision: str | None = 'f2a6c8e1d437'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('endpoint', _text(length=200), nullable=True))
    op.create_table('delivery_access',
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('symbol', _text(length=64), nullable=False),
    sa.Column('access_handle', _text(length=500), nullable=False),
    sa.Column('endpoint', _text(length=200), nullable=True),
    sa.Column('attached_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['listing_id'], ['listings.id'], ),
    sa.ForeignKeyConstraint(['symbol'], ['instruments.symbol'], ),
    sa.PrimaryKeyConstraint('listing_id', 'symbol')
    )


def downgrade() -> None:
    op.drop_table('delivery_access')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('endpoint')
