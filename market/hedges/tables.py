"""The desk's tables (imported by :mod:`market.tables`, so they are on the metadata): hedges, the
instruments each buys, and the orders each round placed. Fills are not stored here: they are the
orders' own (see :mod:`market.hedges.reads`). Instants in epoch microseconds, prices in ticks.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Hedge(SQLModel, table=True):
    """A buyer's hedge under execution (``market.hedges``): the plan it follows and how it was asked.

    ``source`` says where the targets came from: ``positions`` (a plan made elsewhere) or ``forecast``
    (the exchange planned a usage forecast; ``request`` keeps it and its settings for re-plans).
    ``scale_ppm`` is the share of the plan that the account's means allowed (1,000,000: all of it).
    """

    __tablename__ = "hedges"
    __table_args__ = (sa.UniqueConstraint("account_id", "idempotency_key", name="uq_hedges_idempotency"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=40)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    source: str = Field(max_length=10)
    request: str = Field(sa_type=sa.Text)
    plan: str | None = Field(default=None, sa_type=sa.Text)
    slippage_ppm: int
    means: str = Field(max_length=8)
    scale_ppm: int
    rounds: int
    created_us: int = Field(sa_type=sa.BigInteger)
    updated_us: int = Field(sa_type=sa.BigInteger)
    cancelled_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class HedgeLeg(SQLModel, table=True):
    """One instrument of a hedge: the lots the plan wants (``planned_lots``) and, after the means
    check, the lots the hedge buys (``target_lots``)."""

    __tablename__ = "hedge_legs"
    hedge_id: int = Field(foreign_key="hedges.id", primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    planned_lots: int
    target_lots: int


class HedgeOrder(SQLModel, table=True):
    """An order a hedge placed (round 1 at execution, one more per re-plan), or the reason it was not:
    ``refused`` holds the exchange's error code and ``order_id`` is then null."""

    __tablename__ = "hedge_orders"
    __table_args__ = (sa.UniqueConstraint("hedge_id", "round", "symbol", name="uq_hedge_orders_round"),)
    id: int | None = Field(default=None, primary_key=True)
    hedge_id: int = Field(foreign_key="hedges.id", index=True)
    round: int
    symbol: str = Field(max_length=64)
    client_order_id: str = Field(max_length=64)
    order_id: str | None = Field(default=None, max_length=32)
    lots: int
    limit_ticks: int = Field(sa_type=sa.BigInteger)
    refused: str | None = Field(default=None, max_length=40)
    created_us: int = Field(sa_type=sa.BigInteger)
