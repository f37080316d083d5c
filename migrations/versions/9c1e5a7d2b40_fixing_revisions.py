"""fixing revisions and the fixings each cash settlement averaged

Revision ID: 9c1e5a7d2b40
Revises: a7c3e9d41f20
Create Date: 2026-11-30 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '9c1e5a7d2b40'
down_revision: str | None = 'a7c3e9d41f20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('fixings') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('created_us', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('superseded_us', sa.BigInteger(), nullable=True))
        batch.drop_constraint('uq_fixings_product_at_source', type_='unique')
        batch.create_unique_constraint(
            'uq_fixings_product_at_source_rev', ['product', 'at_us', 'source', 'revision']
        )
    with op.batch_alter_table('fixings') as batch:
        batch.alter_column('revision', server_default=None)
        batch.alter_column('created_us', server_default=None)
    op.create_table('settlement_fixings',
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fixing_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['fixing_id'], ['fixings.id'], ),
    sa.ForeignKeyConstraint(['symbol'], ['instruments.symbol'], ),
    sa.PrimaryKeyConstraint('symbol', 'fixing_id')
    )


def downgrade() -> None:
    op.drop_table('settlement_fixings')
    op.execute('DELETE FROM fixings WHERE superseded_us IS NOT NULL')
    with op.batch_alter_table('fixings') as batch:
        batch.drop_constraint('uq_fixings_product_at_source_rev', type_='unique')
        batch.create_unique_constraint('uq_fixings_product_at_source', ['product', 'at_us', 'source'])
        batch.drop_column('superseded_us')
        batch.drop_column('created_us')
        batch.drop_column('revision')
