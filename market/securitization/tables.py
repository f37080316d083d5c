"""The tables of securitised pools (imported by :mod:`market.tables`, so they are on the metadata).

A pool is an issuing account of its own (the SPV) that holds the cash of the deal; these tables hold
what the ledger cannot: which listings back it, its notes and their balances, what each serviced
period collected and paid, every payment to a noteholder, and the sponsor's usage reports.
Money in micro-dollars, rates and triggers in parts per million, instants in epoch microseconds.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _big(**kwargs: object) -> object:
    return Field(sa_type=sa.BigInteger, **kwargs)


class Pool(SQLModel, table=True):
    """A pool of a sponsor's listings that issues tranched notes; ``issuer_id`` is its own account."""

    __tablename__ = "pools"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=200)
    sponsor_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    issuer_id: str = Field(foreign_key="accounts.id", unique=True, max_length=40)
    product: str = Field(foreign_key="products.id", max_length=16)
    start_us: int = _big()
    periods: int
    period_months: int
    fees_fixed_micros: int = _big()
    fees_rate_ppm: int
    reserve_initial_micros: int = _big()
    reserve_target_micros: int = _big()
    principal: str = Field(max_length=10)
    amortisation: str = Field(max_length=10)
    serviced: int = Field(default=0)
    status: str = Field(default="active", max_length=10)
    created_us: int = _big()


class PoolListing(SQLModel, table=True):
    """A listing in a pool (a listing backs at most one pool)."""

    __tablename__ = "pool_listings"
    listing_id: int = Field(foreign_key="listings.id", primary_key=True)
    pool_id: int = Field(foreign_key="pools.id", index=True)


class PoolNote(SQLModel, table=True):
    """One tranche of a pool and the instrument its notes trade as, in order of ``seniority`` (0 first).

    ``balance_micros`` is the face outstanding (lots x face per lot now); what the last period leaves
    unpaid is ``writedown_micros`` and the balance goes to zero.
    """

    __tablename__ = "pool_notes"
    __table_args__ = (
        sa.CheckConstraint("balance_micros >= 0", name="ck_pool_notes_balance"),
        sa.UniqueConstraint("pool_id", "seniority", name="uq_pool_notes_seniority"),
    )
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    pool_id: int = Field(foreign_key="pools.id", index=True)
    seniority: int
    tranche: str = Field(max_length=8)
    lots: int
    lot_face_micros: int = _big()
    coupon_ppm: int
    oc_trigger_ppm: int | None = Field(default=None)
    ic_trigger_ppm: int | None = Field(default=None)
    balance_micros: int = _big()
    interest_paid_micros: int = _big(default=0)
    principal_paid_micros: int = _big(default=0)
    writedown_micros: int = _big(default=0)
    interest_shortfall_micros: int = _big(default=0)


class PoolPeriod(SQLModel, table=True):
    """One serviced period: what the pool was owed and got, what the waterfall paid, what it held back."""

    __tablename__ = "pool_periods"
    pool_id: int = Field(foreign_key="pools.id", primary_key=True)
    period: int = Field(primary_key=True)
    start_us: int = _big()
    end_us: int = _big()
    escrow_micros: int = _big()
    usage_gpu_hours: int = _big()
    index_micros: int | None = Field(default=None, sa_type=sa.BigInteger)
    index_revenue_micros: int = _big()
    remitted_micros: int = _big()
    shortfall_micros: int = _big()
    fees_micros: int = _big()
    interest_micros: int = _big()
    principal_micros: int = _big()
    residual_micros: int = _big()
    reserve_micros: int = _big()
    residue_micros: int = _big()
    breaches: str = Field(default="", max_length=200)
    serviced_us: int = _big()


class PoolPayment(SQLModel, table=True):
    """A payment of a period to one holder of one note (coupon and principal), by ledger transfer."""

    __tablename__ = "pool_payments"
    __table_args__ = (sa.Index("ix_pool_payments_pool_period", "pool_id", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    pool_id: int = Field(foreign_key="pools.id")
    period: int
    symbol: str = Field(foreign_key="instruments.symbol", max_length=64)
    account_id: str = Field(foreign_key="accounts.id", max_length=40)
    lots: int
    interest_micros: int = _big()
    principal_micros: int = _big()
    created_us: int = _big()


class PoolUsage(SQLModel, table=True):
    """The sponsor's report of the pooled GPU-hours it rented at the index in one period."""

    __tablename__ = "pool_usage"
    pool_id: int = Field(foreign_key="pools.id", primary_key=True)
    period: int = Field(primary_key=True)
    gpu_hours: int = _big()
    reported_us: int = _big()
