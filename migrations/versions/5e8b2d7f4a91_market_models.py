"""market models: the model each product's marks use, with its score and calibration instant

Revision ID: 5e8b2d7f4a91
Revises: e4b7d1c9a2f3
Create Date: 2026-11-30 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '5e8b2d7f4a91'
down_revision: str | None = 'e4b7d1c9a2f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('market_models',
    sa.Column('product', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('crps', sa.Float(), nullable=True),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('calibrated_us', sa.BigInteger(), nullable=True),
    sa.Column('refreshed_us', sa.BigInteger(), nullable=False),
    sa.Column('last_fixing_us', sa.BigInteger(), nullable=True),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product'], ['products.id'], ),
    sa.PrimaryKeyConstraint('product')
    )


def downgrade() -> None:
    op.drop_table('market_models')
