"""Winding up a basket fund: its strip has settled, so its holders are paid out.

A fund holds a fixed strip and does not roll: its unit stops trading, creating and redeeming when
its first leg stops trading (the leg's delivery start, the unit's ``expiry_us``; the settlement run
then expires the unit and cancels its book). Each leg then settles in cash at its window's end
against the index average (:mod:`market.settlement`), paying the fund what variation margin had not.
Once every leg is settled the fund's value is all cash, and :func:`wind_up` pays each holder, in
account order, ``units x NAV`` (NAV rounded down, :func:`market.basket.nav`), cancels the units by a
``basket`` trade with the fund, moves the rounding residue (less than a micro-dollar per unit) to the
exchange's fees, and settles the unit. A successor fund on the next front months is simply a new
fund; holders roll by redeeming in one and creating in the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import basket
from market.baskets import funds
from market.baskets.flows import transfer
from market.baskets.records import WindUpInfo
from market.baskets.tables import Basket
from market.errors import ConflictError
from market.ledger import AVAILABLE, FEES, MARGIN, RESERVED, SYSTEM
from market.store import UnitOfWork
from market.tables import Instrument, Position
from market.trading import Trading

if TYPE_CHECKING:
    from market.house import House

_baskets = Basket.__table__
_instruments = Instrument.__table__
_positions = Position.__table__


def due(trading: Trading, connection: sa.Connection) -> list[str]:
    """Active funds whose unit has expired and every leg settled (on a shard: of the funds it holds
    whole, :func:`market.baskets.funds.held_here`)."""
    out = []
    for row in connection.execute(
        sa.select(_baskets).where(_baskets.c.status == "active").order_by(_baskets.c.symbol)
    ):
        legs = funds.legs_of(connection, row.id)
        if not funds.held_here(trading, row, legs):  # another shard's fund winds up there
            continue
        if trading.instrument(row.symbol).status == "expired" and all(
            trading.instrument(leg.symbol).status == "settled" for leg in legs
        ):
            out.append(row.symbol)
    return out


def wind_up_due(house: House) -> list[WindUpInfo]:
    """Wind up every fund that is due (idempotent: a wound-up fund is never due again)."""
    with house.transaction() as uow:
        trading = house.books()
        return [_wind_up(uow, trading, symbol) for symbol in due(trading, uow.connection)]


def wind_up(house: House, symbol: str) -> WindUpInfo:
    """Wind up one fund now; ConflictError while it is not due."""
    with house.transaction() as uow:
        trading = house.books()
        row = funds.fund_row(uow.connection, symbol)
        trading.instrument(symbol)  # book_elsewhere (421) on a shard not holding the unit's book
        legs = funds.legs_of(uow.connection, row.id)
        if away := [leg.symbol for leg in legs if leg.symbol not in trading.instruments]:
            raise funds.across_shards(away[0])
        if symbol not in due(trading, uow.connection):
            raise ConflictError(f"{symbol} winds up once its unit has expired and every leg has settled")
        return _wind_up(uow, trading, symbol)


def _wind_up(uow: UnitOfWork, trading: Trading, symbol: str) -> WindUpInfo:
    connection = uow.connection
    row = funds.fund_row(connection, symbol)
    fund = row.fund_id
    for bucket in (MARGIN, RESERVED):
        uow.ledger.move((fund, bucket), (fund, AVAILABLE), uow.ledger.balance(fund, bucket))
    equity = uow.ledger.balance(fund, AVAILABLE)
    units = funds.outstanding(uow, row)
    nav = basket.nav(equity, units)
    unit = trading.instrument(symbol)
    holders = connection.execute(
        sa.select(_positions.c.account_id, _positions.c.qty)
        .where(_positions.c.symbol == symbol, _positions.c.qty > 0)
        .order_by(_positions.c.account_id)
    ).all()
    payments = []
    for holder, qty in holders:
        uow.ledger.move((fund, AVAILABLE), (holder, AVAILABLE), qty * nav, "wind-up")
        transfer(uow, unit, qty, nav // unit.tick_micros, qty * nav, buyer=fund, seller=holder)
        payments.append((holder, qty * nav))
    residue = uow.ledger.balance(fund, AVAILABLE)
    uow.ledger.move((fund, AVAILABLE), (SYSTEM, FEES), residue, "wind-up residue")
    uow.ledger.post("basket_wind_up", account_id=fund, ref=symbol)
    connection.execute(_instruments.update().where(_instruments.c.symbol == symbol).values(status="settled"))
    trading.revise(symbol, status="settled")
    connection.execute(
        _baskets.update().where(_baskets.c.id == row.id).values(status="wound_up", wound_up_us=uow.now_us)
    )
    return WindUpInfo(symbol, nav, units, tuple(payments), residue)
