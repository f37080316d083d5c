"""Defining a basket fund, authorising its participants, and reading funds.

An admin defines a fund from cash-settled forwards that are open: the fund gets an account of its
own (the *fund account*, with no API key, role ``trader`` so it can trade its strip for cash flows)
and a unit instrument of kind ``unit``:

- symbol the fund's code (``GPUB1``), product its first leg's product (the instruments table needs
  one; nothing marks a unit by its product), settlement ``cash``, window the strip's span;
- price per unit in cents (``tick_micros`` 10,000; a lot is one unit, so ``multiplier`` is the tick);
  a buyer pays the price in full at the trade and a seller must hold the units (no short sales), as
  for pool notes; no margin on units, no index mark (the unit's value is its NAV);
- it stops trading, creating and redeeming when its first leg stops trading (``expiry_us``, the
  earliest leg's delivery start): a fixed strip does not roll; once every leg has settled in cash the
  fund is wound up (:mod:`market.baskets.windup`).

The fund account is short every unit outstanding (units are issued by the fund, as pool notes by
their issuing account) and long exactly ``units x lots`` of each leg (an invariant).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import basket, catalog
from market.accounts import TRADER, account, new_account_id
from market.baskets.records import BasketInfo, BasketTerms, LegTerms
from market.baskets.tables import Basket, BasketLeg, BasketParticipant
from market.errors import AlreadyExistsError, BasketAcrossShardsError, InvalidRequestError, NotFoundError
from market.instruments import Instrument, InstrumentKind, Settlement
from market.ledger import SYSTEM, bucket_rows
from market.store import UnitOfWork, insert_ignore
from market.tables import Account, Balance, Position
from market.tables import Instrument as InstrumentTable
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House
    from market.trading import Trading

UNIT_TICK_MICROS = 10_000
"""Units are priced in cents."""
MAX_LEGS = 16
MAX_LOTS = 10_000
MAX_SLIPPAGE_PPM = 200_000
CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
_baskets = Basket.__table__
_legs = BasketLeg.__table__
_participants = BasketParticipant.__table__
_instruments = InstrumentTable.__table__
_positions = Position.__table__


def spec_of(row: sa.Row, legs: list[sa.Row]) -> basket.BasketSpec:
    """The fund's :class:`market.basket.BasketSpec` (the arithmetic the lab shares)."""
    return basket.BasketSpec(
        row.symbol, tuple(basket.Leg(leg.symbol, leg.lots) for leg in legs), row.fee_ppm, row.in_kind_fee_ppm
    )


def check_terms(terms: BasketTerms) -> None:
    """The terms' shape: code, name, 1..16 distinct legs of 1..10,000 lots, fees and price limit."""
    if not isinstance(terms.symbol, str) or not CODE.match(terms.symbol):
        raise InvalidRequestError("symbol must be 2-12 upper-case letters or digits", field="symbol")
    if not isinstance(terms.name, str) or not 0 < len(terms.name) <= 200:
        raise InvalidRequestError("name must have 1-200 characters", field="name")
    if not 0 < len(terms.legs) <= MAX_LEGS:
        raise InvalidRequestError(f"a basket holds 1-{MAX_LEGS} legs", field="legs")
    for i, leg in enumerate(terms.legs):
        if type(leg.lots) is not int or not 0 < leg.lots <= MAX_LOTS:
            raise InvalidRequestError(f"lots per unit must be 1-{MAX_LOTS}", field=f"legs[{i}].lots")
        if leg.symbol in [other.symbol for other in terms.legs[:i]]:
            raise InvalidRequestError(f"duplicate leg {leg.symbol!r}", field=f"legs[{i}].symbol")
    for name in ("fee_ppm", "in_kind_fee_ppm"):
        value = getattr(terms, name)
        if type(value) is not int or not 0 <= value <= basket.MAX_FEE_PPM:
            raise InvalidRequestError(f"{name} must be 0-{basket.MAX_FEE_PPM}", field=name)
    if type(terms.slippage_ppm) is not int or not 0 < terms.slippage_ppm <= MAX_SLIPPAGE_PPM:
        raise InvalidRequestError(f"slippage_ppm must be 1-{MAX_SLIPPAGE_PPM}", field="slippage_ppm")


def create_basket(house: House, terms: BasketTerms) -> BasketInfo:
    """Define a fund: its account, its unit instrument and book, its legs (see the module)."""
    check_terms(terms)
    with house.transaction() as uow:
        trading = house.books()
        legs = []
        for i, leg in enumerate(terms.legs):
            inst = trading.instruments.get(leg.symbol)
            if inst is None and trading.elsewhere is not None and trading.elsewhere(leg.symbol):
                raise across_shards(leg.symbol, f"legs[{i}].symbol")
            if inst is None:
                raise NotFoundError(f"no instrument {leg.symbol}", field=f"legs[{i}].symbol")
            if inst.kind != "forward" or inst.settlement != "cash" or inst.status != "open":
                message = f"{leg.symbol} is not an open cash-settled forward"
                raise InvalidRequestError(message, field=f"legs[{i}].symbol")
            legs.append(inst)
        connection = uow.connection
        if connection.execute(sa.select(_baskets.c.id).where(_baskets.c.symbol == terms.symbol)).first():
            raise AlreadyExistsError(f"a basket {terms.symbol} exists", field="symbol")
        fund = new_account_id()
        connection.execute(
            Account.__table__.insert(),
            {"id": fund, "name": f"basket {terms.symbol}", "roles": TRADER, "created_us": uow.now_us},
        )
        connection.execute(Balance.__table__.insert(), bucket_rows(fund))
        insert_ignore(connection, Balance.__table__, bucket_rows(SYSTEM))
        catalog.list_rows(house, uow, [unit_row(terms.symbol, legs)])
        basket_id = connection.execute(
            _baskets.insert().returning(_baskets.c.id),
            {
                "symbol": terms.symbol,
                "name": terms.name,
                "fund_id": fund,
                "fee_ppm": terms.fee_ppm,
                "in_kind_fee_ppm": terms.in_kind_fee_ppm,
                "slippage_ppm": terms.slippage_ppm,
                "status": "active",
                "created_us": uow.now_us,
            },
        ).scalar_one()
        connection.execute(
            _legs.insert(), [{"basket_id": basket_id, "symbol": x.symbol, "lots": x.lots} for x in terms.legs]
        )
        return info(connection, terms.symbol)


def across_shards(symbol: str, field: str | None = None) -> BasketAcrossShardsError:
    """The refusal of a basket action needing ``symbol``'s book, which another shard holds."""
    message = f"{symbol}'s book is on another shard: a basket trades all its legs in one shard's books"
    return BasketAcrossShardsError(message, field=field)


def held_here(trading: Trading, row: sa.Row, legs: list[sa.Row]) -> bool:
    """Whether this process holds the books of the fund's unit and of every leg (a single writer
    holds every book; a shard those of its products): the fund's duties -- its NAV, its wind-up --
    run on the process holding them all, and nowhere for a fund across shards."""
    return all(s in trading.instruments for s in [row.symbol, *(leg.symbol for leg in legs)])


def unit_row(symbol: str, legs: list[Instrument]) -> dict:
    """The instrument row of a fund's unit (``catalog.list_rows`` lists it)."""
    unit = Instrument(
        symbol=symbol,
        product=legs[0].product,
        kind=InstrumentKind.UNIT.value,
        settlement=Settlement.CASH.value,
        window_kind="term",
        window_start_us=min(leg.window_start_us for leg in legs),
        window_end_us=max(leg.window_end_us for leg in legs),
        tick_micros=UNIT_TICK_MICROS,
        lot_gpus=1,
        expiry_us=min(leg.expiry_us for leg in legs),
    )
    return asdict(unit)


def authorise(house: House, symbol: str, account_id: str) -> BasketInfo:
    """Make ``account_id`` an authorised participant of the fund (idempotent)."""
    account(house, account_id)  # NotFoundError when there is no such account
    with house.transaction() as uow:
        row = fund_row(uow.connection, symbol)
        insert_ignore(
            uow.connection,
            _participants,
            [{"basket_id": row.id, "account_id": account_id, "created_us": uow.now_us}],
        )
        return info(uow.connection, symbol)


def fund_row(connection: sa.Connection, symbol: str) -> sa.Row:
    """The fund's row; NotFoundError when there is none."""
    row = connection.execute(sa.select(_baskets).where(_baskets.c.symbol == symbol)).one_or_none()
    if row is None:
        raise NotFoundError(f"no basket {symbol!r}", field="symbol")
    return row


def legs_of(connection: sa.Connection, basket_id: int) -> list[sa.Row]:
    """The fund's legs in symbol order."""
    return list(
        connection.execute(sa.select(_legs).where(_legs.c.basket_id == basket_id).order_by(_legs.c.symbol))
    )


def outstanding(uow: UnitOfWork | sa.Connection, row: sa.Row) -> int:
    """Units outstanding: what the fund account is short of its unit."""
    if isinstance(uow, UnitOfWork):
        return -uow.position_qty(row.fund_id, row.symbol)
    qty = uow.execute(
        sa.select(_positions.c.qty).where(
            _positions.c.account_id == row.fund_id, _positions.c.symbol == row.symbol
        )
    ).scalar()
    return -(qty or 0)


def is_participant(connection: sa.Connection, basket_id: int, account_id: str) -> bool:
    """Whether ``account_id`` may create and redeem units of the fund."""
    found = connection.execute(
        sa.select(_participants.c.account_id).where(
            _participants.c.basket_id == basket_id, _participants.c.account_id == account_id
        )
    ).first()
    return found is not None


def info(connection: sa.Connection, symbol: str) -> BasketInfo:
    """The fund as a record."""
    row = fund_row(connection, symbol)
    expiry = connection.execute(
        sa.select(_instruments.c.expiry_us).where(_instruments.c.symbol == symbol)
    ).scalar_one()
    participants = connection.execute(
        sa.select(_participants.c.account_id)
        .where(_participants.c.basket_id == row.id)
        .order_by(_participants.c.account_id)
    ).scalars()
    return BasketInfo(
        row.id,
        row.symbol,
        row.name,
        row.fund_id,
        tuple(LegTerms(leg.symbol, leg.lots) for leg in legs_of(connection, row.id)),
        row.fee_ppm,
        row.in_kind_fee_ppm,
        row.slippage_ppm,
        row.status,
        outstanding(connection, row),
        tuple(participants),
        from_epoch_us(expiry),
        from_epoch_us(row.created_us),
    )


def basket_info(house: House, symbol: str) -> BasketInfo:
    """One fund."""
    with house.read() as connection:
        return info(connection, symbol)


def baskets(house: House) -> list[BasketInfo]:
    """Every fund, by symbol."""
    with house.read() as connection:
        symbols = connection.execute(sa.select(_baskets.c.symbol).order_by(_baskets.c.symbol)).scalars()
        return [info(connection, s) for s in symbols]


def unbalanced(connection: sa.Connection) -> list[tuple]:
    """Active funds whose account does not hold exactly ``units x lots`` of each unsettled leg, or
    whose units have a holder short (``(symbol, leg, held, expected)`` rows; the invariant)."""
    out: list[tuple] = []
    for row in connection.execute(
        sa.select(_baskets).where(_baskets.c.status == "active").order_by(_baskets.c.id)
    ):
        units = outstanding(connection, row)
        shorts = connection.execute(
            sa.select(sa.func.count()).where(
                _positions.c.symbol == row.symbol,
                _positions.c.qty < 0,
                _positions.c.account_id != row.fund_id,
            )
        ).scalar_one()
        if shorts or units < 0:
            out.append((row.symbol, row.symbol, -units, "no short holder"))
        for leg in legs_of(connection, row.id):
            status = connection.execute(
                sa.select(_instruments.c.status).where(_instruments.c.symbol == leg.symbol)
            ).scalar_one()
            held = (
                connection.execute(
                    sa.select(_positions.c.qty).where(
                        _positions.c.account_id == row.fund_id, _positions.c.symbol == leg.symbol
                    )
                ).scalar()
                or 0
            )
            if status != "settled" and held != units * leg.lots:
                out.append((row.symbol, leg.symbol, held, units * leg.lots))
    return out


def fund_accounts(connection: sa.Connection) -> frozenset[str]:
    """The accounts of active funds. Each holds its strip long and fully funded (its cash is the strip's
    notional at the marks, all a long forward can lose), so it cannot default: the clearing house
    margins it but asks it for no default-fund contribution and leaves it out of Cover 1."""
    return frozenset(
        connection.execute(sa.select(_baskets.c.fund_id).where(_baskets.c.status == "active")).scalars()
    )
