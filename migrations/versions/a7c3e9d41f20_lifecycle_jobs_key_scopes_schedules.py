"""lifecycle jobs, key scopes, product schedules

Revision ID: a7c3e9d41f20
Revises: 9d2f4c6a8b10
Create Date: 2026-11-30 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'a7c3e9d41f20'
down_revision: str | None = '9d2f4c6a8b10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lifecycle_jobs',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('next_run_us', sa.BigInteger(), nullable=False),
    sa.Column('last_started_us', sa.BigInteger(), nullable=True),
    sa.Column('last_finished_us', sa.BigInteger(), nullable=True),
    sa.Column('last_outcome', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('last_detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('lease_until_us', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      server_default='read,trade,transfer', nullable=False))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('schedule')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('scopes')
    op.drop_table('lifecycle_jobs')
