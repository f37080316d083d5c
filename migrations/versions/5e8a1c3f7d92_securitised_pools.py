"""securitised pools: pools, their listings, notes, serviced periods, payments and usage reports

Revision ID: 5e8a1c3f7d92
Revises: 9c1e5a7d2b40
Create Date: 2026-11-30 21:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "5e8a1c3f7d92"
down_revision: str | None = "9c1e5a7d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("face_micros", sa.BigInteger(), nullable=True))
    op.create_table(
        "pools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", _text(length=12), nullable=False),
        sa.Column("name", _text(length=200), nullable=False),
        sa.Column("sponsor_id", _text(length=40), nullable=False),
        sa.Column("issuer_id", _text(length=40), nullable=False),
        sa.Column("product", _text(length=16), nullable=False),
        _money("start_us"),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        _money("fees_fixed_micros"),
        sa.Column("fees_rate_ppm", sa.Integer(), nullable=False),
        _money("reserve_initial_micros"),
        _money("reserve_target_micros"),
        sa.Column("principal", _text(length=10), nullable=False),
        sa.Column("amortisation", _text(length=10), nullable=False),
        sa.Column("serviced", sa.Integer(), nullable=False),
        sa.Column("status", _text(length=10), nullable=False),
        _money("created_us"),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product"],
            ["products.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("issuer_id"),
    )
    op.create_index(op.f("ix_pools_sponsor_id"), "pools", ["sponsor_id"], unique=False)
    op.create_table(
        "pool_listings",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
        ),
        sa.PrimaryKeyConstraint("listing_id"),
    )
    op.create_index(op.f("ix_pool_listings_pool_id"), "pool_listings", ["pool_id"], unique=False)
    op.create_table(
        "pool_notes",
        sa.Column("symbol", _text(length=64), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("seniority", sa.Integer(), nullable=False),
        sa.Column("tranche", _text(length=8), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        _money("lot_face_micros"),
        sa.Column("coupon_ppm", sa.Integer(), nullable=False),
        sa.Column("oc_trigger_ppm", sa.Integer(), nullable=True),
        sa.Column("ic_trigger_ppm", sa.Integer(), nullable=True),
        _money("balance_micros"),
        _money("interest_paid_micros"),
        _money("principal_paid_micros"),
        _money("writedown_micros"),
        _money("interest_shortfall_micros"),
        sa.CheckConstraint("balance_micros >= 0", name="ck_pool_notes_balance"),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
        ),
        sa.ForeignKeyConstraint(
            ["symbol"],
            ["instruments.symbol"],
        ),
        sa.PrimaryKeyConstraint("symbol"),
        sa.UniqueConstraint("pool_id", "seniority", name="uq_pool_notes_seniority"),
    )
    op.create_index(op.f("ix_pool_notes_pool_id"), "pool_notes", ["pool_id"], unique=False)
    op.create_table(
        "pool_periods",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        _money("start_us"),
        _money("end_us"),
        _money("escrow_micros"),
        _money("usage_gpu_hours"),
        _money("index_micros", nullable=True),
        _money("index_revenue_micros"),
        _money("remitted_micros"),
        _money("shortfall_micros"),
        _money("fees_micros"),
        _money("interest_micros"),
        _money("principal_micros"),
        _money("residual_micros"),
        _money("reserve_micros"),
        _money("residue_micros"),
        sa.Column("breaches", _text(length=200), nullable=False),
        _money("serviced_us"),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
        ),
        sa.PrimaryKeyConstraint("pool_id", "period"),
    )
    op.create_table(
        "pool_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("symbol", _text(length=64), nullable=False),
        sa.Column("account_id", _text(length=40), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        _money("interest_micros"),
        _money("principal_micros"),
        _money("created_us"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
        ),
        sa.ForeignKeyConstraint(
            ["symbol"],
            ["instruments.symbol"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pool_payments_pool_period", "pool_payments", ["pool_id", "period"], unique=False)
    op.create_table(
        "pool_usage",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        _money("gpu_hours"),
        _money("reported_us"),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pools.id"],
        ),
        sa.PrimaryKeyConstraint("pool_id", "period"),
    )


def downgrade() -> None:
    op.drop_table("pool_usage")
    op.drop_index("ix_pool_payments_pool_period", table_name="pool_payments")
    op.drop_table("pool_payments")
    op.drop_table("pool_periods")
    op.drop_index(op.f("ix_pool_notes_pool_id"), table_name="pool_notes")
    op.drop_table("pool_notes")
    op.drop_index(op.f("ix_pool_listings_pool_id"), table_name="pool_listings")
    op.drop_table("pool_listings")
    op.drop_index(op.f("ix_pools_sponsor_id"), table_name="pools")
    op.drop_table("pools")
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("face_micros")
