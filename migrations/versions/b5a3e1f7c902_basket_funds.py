"""basket funds: units on a strip of forwards, participants, NAV history, creations and redemptions

Revision ID: b5a3e1f7c902
Revises: b2d6f0a8c417
Create Date: 2026-12-01 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "b5a3e1f7c902"
down_revision: str | None = "b2d6f0a8c417"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "baskets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("fund_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("fee_ppm", sa.Integer(), nullable=False),
        sa.Column("in_kind_fee_ppm", sa.Integer(), nullable=False),
        sa.Column("slippage_ppm", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("wound_up_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["symbol"],
            ["instruments.symbol"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fund_id"),
        sa.UniqueConstraint("symbol"),
    )
    op.create_table(
        "basket_legs",
        sa.Column("basket_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.CheckConstraint("lots > 0", name="ck_basket_legs_lots"),
        sa.ForeignKeyConstraint(
            ["basket_id"],
            ["baskets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["symbol"],
            ["instruments.symbol"],
        ),
        sa.PrimaryKeyConstraint("basket_id", "symbol"),
    )
    op.create_table(
        "basket_participants",
        sa.Column("basket_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["basket_id"],
            ["baskets.id"],
        ),
        sa.PrimaryKeyConstraint("basket_id", "account_id"),
    )
    op.create_table(
        "basket_navs",
        sa.Column("basket_id", sa.Integer(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("nav_micros", sa.BigInteger(), nullable=False),
        sa.Column("equity_micros", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("strip_micros", sa.BigInteger(), nullable=False),
        sa.Column("margin_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["basket_id"],
            ["baskets.id"],
        ),
        sa.PrimaryKeyConstraint("basket_id", "at_us"),
    )
    op.create_table(
        "basket_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("basket_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("nav_micros", sa.BigInteger(), nullable=False),
        sa.Column("cash_micros", sa.BigInteger(), nullable=False),
        sa.Column("fee_micros", sa.BigInteger(), nullable=False),
        sa.Column("costs_micros", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("units > 0", name="ck_basket_flows_units"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["basket_id"],
            ["baskets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("basket_id", "account_id", "idempotency_key", name="uq_basket_flows_key"),
    )
    with op.batch_alter_table("basket_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_basket_flows_basket_id"), ["basket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("basket_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_basket_flows_basket_id"))
    op.drop_table("basket_flows")
    op.drop_table("basket_navs")
    op.drop_table("basket_participants")
    op.drop_table("basket_legs")
    op.drop_table("baskets")
