"""The tables of basket funds (imported by :mod:`market.tables`, so they are on the metadata).

A basket fund is an account of its own (the fund's, with no API key) that holds the strip of forwards
and the cash behind its units; these tables hold what the ledger and the positions cannot: the unit's
strip (lots of each forward per unit), its fees, its authorised participants, the NAV history and
every creation and redemption. Money in micro-dollars, fees in parts per million, instants in epoch
microseconds.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _big(**kwargs: object) -> object:
    return Field(sa_type=sa.BigInteger, **kwargs)


class Basket(SQLModel, table=True):
    """A basket fund: its unit (an instrument of kind ``unit``), its account and its fees."""

    __tablename__ = "baskets"
    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", unique=True, max_length=64)
    name: str = Field(max_length=200)
    fund_id: str = Field(foreign_key="accounts.id", unique=True, max_length=40)
    fee_ppm: int
    in_kind_fee_ppm: int
    slippage_ppm: int
    status: str = Field(default="active", max_length=10)
    created_us: int = _big()
    wound_up_us: int | None = Field(default=None, sa_type=sa.BigInteger)


class BasketLeg(SQLModel, table=True):
    """Lots of one cash-settled forward that each unit holds."""

    __tablename__ = "basket_legs"
    __table_args__ = (sa.CheckConstraint("lots > 0", name="ck_basket_legs_lots"),)
    basket_id: int = Field(foreign_key="baskets.id", primary_key=True)
    symbol: str = Field(foreign_key="instruments.symbol", primary_key=True, max_length=64)
    lots: int


class BasketParticipant(SQLModel, table=True):
    """An account authorised to create and redeem units of a basket (an authorised participant)."""

    __tablename__ = "basket_participants"
    basket_id: int = Field(foreign_key="baskets.id", primary_key=True)
    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=40)
    created_us: int = _big()


class BasketNav(SQLModel, table=True):
    """A published NAV: the fund's equity at the strip's marks and the units outstanding then."""

    __tablename__ = "basket_navs"
    basket_id: int = Field(foreign_key="baskets.id", primary_key=True)
    at_us: int = Field(sa_type=sa.BigInteger, primary_key=True)
    nav_micros: int = _big()
    equity_micros: int = _big()
    units: int = _big()
    strip_micros: int = _big()
    """One unit's strip notional at the marks (what a unit's forwards deliver, valued)."""
    margin_micros: int = _big()
    """The clearing house's scan of one unit's look-through strip (the unit's initial margin)."""


class BasketFlow(SQLModel, table=True):
    """A creation or redemption by an authorised participant, in kind or in cash.

    ``cash_micros`` is what the participant paid (creation) or received (redemption); ``fee_micros``
    the fee in it; ``costs_micros`` what the fund's strip trades cost beyond the marks (cash only),
    charged to the participant so the other holders' NAV is unchanged.
    """

    __tablename__ = "basket_flows"
    __table_args__ = (
        sa.UniqueConstraint("basket_id", "account_id", "idempotency_key", name="uq_basket_flows_key"),
        sa.CheckConstraint("units > 0", name="ck_basket_flows_units"),
    )
    id: int | None = Field(default=None, primary_key=True)
    basket_id: int = Field(foreign_key="baskets.id", index=True)
    account_id: str = Field(foreign_key="accounts.id", max_length=40)
    action: str = Field(max_length=10)
    method: str = Field(max_length=10)
    units: int = _big()
    nav_micros: int = _big()
    cash_micros: int = _big()
    fee_micros: int = _big()
    costs_micros: int = _big()
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=64)
    created_us: int = _big()
