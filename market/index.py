"""The reference index of each product: fixings (USD micro-dollars per GPU-hour) with their source.

Fixings are ingested (e.g. from a price tracker, source ``"ingest"``) or computed from trades in the
day-ahead forwards (source ``"trades"``: the volume-weighted price of the day forward's trades, fixed
at the start of its day). The index average over a window -- what cash-settled forwards and Asian
options settle against -- is the arithmetic mean of every fixing observed in ``[start, end)``,
rounded half to even to the micro-dollar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.errors import InvalidAmountError, InvalidRequestError, NotFoundError, UnknownInstrumentError
from market.house import page_limit
from market.instruments import Window, WindowKind
from market.records import FixingInfo
from market.store import insert_ignore
from market.tables import EXERCISE, Fixing, Instrument, Product, Trade
from market.trading import multiplier
from market.units import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House

_fixings = Fixing.__table__
_trades = Trade.__table__
_products = Product.__table__
_instruments = Instrument.__table__


def add(connection: sa.Connection, product: str, fixings: Sequence[tuple[int, int]], source: str) -> int:
    """Store ``(at_us, price_micros)`` fixings, skipping repeats; returns how many are new."""
    if not isinstance(source, str) or not 0 < len(source) <= 40:
        raise InvalidRequestError("source must be 1-40 characters", field="source")
    rows = []
    for at_us, price in fixings:
        if type(price) is not int or price <= 0:
            raise InvalidAmountError("a fixing price must be positive", field="price")
        rows.append({"product": product, "at_us": at_us, "price_micros": price, "source": source})
    if not rows:
        return 0
    before = count(connection, product)
    insert_ignore(connection, _fixings, rows)
    return count(connection, product) - before


def count(connection: sa.Connection, product: str) -> int:
    """How many fixings a product has."""
    return connection.execute(
        sa.select(sa.func.count()).select_from(_fixings).where(_fixings.c.product == product)
    ).scalar_one()


def average(connection: sa.Connection, product: str, start_us: int, end_us: int) -> int | None:
    """The index average over ``[start, end)``, or None when no fixing fell in the window."""
    total, n = connection.execute(
        sa.select(sa.func.sum(_fixings.c.price_micros), sa.func.count()).where(
            _fixings.c.product == product, _fixings.c.at_us >= start_us, _fixings.c.at_us < end_us
        )
    ).one()
    if not n:
        return None
    quotient, remainder = divmod(int(total), n)
    if 2 * remainder > n or (2 * remainder == n and quotient % 2):
        quotient += 1
    return quotient


def history(connection: sa.Connection, product: str, until_us: int, limit: int) -> list[tuple[int, int]]:
    """The latest ``limit`` fixings at or before ``until_us`` as ``(at_us, price_micros)``, oldest first."""
    rows = connection.execute(
        sa.select(_fixings.c.at_us, _fixings.c.price_micros)
        .where(_fixings.c.product == product, _fixings.c.at_us <= until_us)
        .order_by(_fixings.c.at_us.desc(), _fixings.c.id.desc())
        .limit(limit)
    ).all()
    return [(int(a), int(p)) for a, p in reversed(rows)]


def vwap_micros(connection: sa.Connection, symbol: str, multiplier: int, tick_micros: int) -> int | None:
    """The volume-weighted trade price of an instrument in micro-dollars per GPU-hour, or None."""
    notional, qty = connection.execute(
        sa.select(sa.func.sum(_trades.c.price_ticks * _trades.c.qty), sa.func.sum(_trades.c.qty)).where(
            _trades.c.symbol == symbol, _trades.c.maker_order_id != EXERCISE
        )
    ).one()
    if not qty:
        return None
    return round(int(notional) * tick_micros / int(qty))


def add_fixings(
    house: House, product: str, fixings: Sequence[tuple[datetime, int]], source: str = "ingest"
) -> int:
    """Store index fixings ``(instant, micro-dollars per GPU-hour)``; repeats are skipped.

    Returns how many were new.
    """
    with house.db.begin() as connection:
        if connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first() is None:
            raise NotFoundError(f"no product {product!r}", field="product")
        return add(connection, product, [(to_epoch_us(at), p) for at, p in fixings], source)


def fix_from_trades(house: House, product: str, day: datetime) -> FixingInfo | None:
    """Record the volume-weighted price of the ``day`` forward's trades as a fixing (source ``trades``)
    at the start of that day; None when the day forward has not traded."""
    window = Window(WindowKind.DAY, day)
    symbol = f"{product}-{window.label}"
    with house.db.begin() as connection:
        row = connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).one_or_none()
        if row is None:
            raise UnknownInstrumentError(f"no day forward {symbol}", field="day")
        inst = dict(row._mapping)
        vwap = vwap_micros(connection, symbol, multiplier(inst), inst["tick_micros"])
        if vwap is None:
            return None
        add(connection, product, [(inst["window_start_us"], vwap)], "trades")
    return FixingInfo(product, window.start, vwap, "trades")


def fixings(
    house: House,
    product: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[FixingInfo]:
    """A product's fixings in ``[start, end)``, oldest first (at most ``limit``)."""
    query = sa.select(_fixings).where(_fixings.c.product == product)
    if start is not None:
        query = query.where(_fixings.c.at_us >= to_epoch_us(start))
    if end is not None:
        query = query.where(_fixings.c.at_us < to_epoch_us(end))
    query = query.order_by(_fixings.c.at_us, _fixings.c.id).limit(page_limit(limit))
    with house.read() as connection:
        return [
            FixingInfo(r.product, from_epoch_us(r.at_us), r.price_micros, r.source)
            for r in connection.execute(query)
        ]
