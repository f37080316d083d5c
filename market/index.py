"""The reference index of each product: fixings (USD micro-dollars per GPU-hour) with their source.

Fixings are ingested (e.g. from a price tracker, source ``"ingest"``) or computed from trades in the
day-ahead forwards (source ``"trades"``: the volume-weighted price of the day forward's trades, fixed
at the start of its day). The index average over a window -- what cash-settled forwards and Asian
options settle against -- is the arithmetic mean of every fixing observed in ``[start, end)``,
rounded half to even to the micro-dollar.

Marks read the index through a **filter** robust to single prints (:func:`filtered`): each fixing is
replaced by the median of itself and the :data:`FILTER_WIDTH` - 1 fixings before it (a running
median of the current revisions). One outlier among five fixings cannot move the filtered level
outside the range of the other four, and a genuine level change shows after three prints. Settlement
averages are never filtered: a cash-settled forward settles on what was fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.errors import InvalidAmountError, InvalidRequestError, NotFoundError, UnknownInstrumentError
from market.house import page_limit
from market.instruments import Instrument, Window, WindowKind
from market.records import FixingInfo, FixingsStored
from market.tables import BASKET, EXERCISE, Fixing, Product, SettlementFixing, Trade
from market.tables import Instrument as InstrumentTable
from market.units import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House

_fixings = Fixing.__table__
_trades = Trade.__table__
_products = Product.__table__
_instruments = InstrumentTable.__table__
_settlement_fixings = SettlementFixing.__table__


FUTURE_TOLERANCE_US = 5 * 60 * 1_000_000
"""How far past the exchange clock a fixing may be dated (clock skew between a feed and the exchange);
anything later is an observation that cannot have been made yet."""

_current = _fixings.c.superseded_us.is_(None)


def add(
    connection: sa.Connection,
    product: str,
    fixings: Sequence[tuple[int, int]],
    source: str,
    now_us: int,
    *,
    observed: bool = True,
) -> FixingsStored:
    """Store ``(at_us, price_micros)`` fixings observed by ``now_us``.

    A repeat (same instant, source and price) is skipped; a different price for a stored instant and
    source is a *correction*: a new revision, the old row superseded (kept, for the audit trail). A
    fixing ``observed`` (from a feed) dated more than :data:`FUTURE_TOLERANCE_US` after ``now_us`` is
    refused; the exchange's own day-ahead fixings (``observed=False``) are dated at their day's start.
    """
    if not isinstance(source, str) or not 0 < len(source) <= 40:
        raise InvalidRequestError("source must be 1-40 characters", field="source")
    latest: dict[int, int] = {}
    for i, (at_us, price) in enumerate(fixings):
        if type(price) is not int or price <= 0:
            raise InvalidAmountError("a fixing price must be positive", field=f"fixings[{i}].price")
        if observed and at_us > now_us + FUTURE_TOLERANCE_US:
            raise InvalidRequestError(
                f"fixing at {from_epoch_us(at_us).isoformat()} is dated after the exchange clock "
                f"({from_epoch_us(now_us).isoformat()}); an index is observed, not forecast",
                field=f"fixings[{i}].at",
            )
        latest[at_us] = price  # within one request the last price for an instant wins
    if not latest:
        return FixingsStored(0, 0)
    stored = {
        int(r.at_us): r
        for r in connection.execute(
            sa.select(_fixings.c.id, _fixings.c.at_us, _fixings.c.price_micros, _fixings.c.revision).where(
                _fixings.c.product == product,
                _fixings.c.source == source,
                _fixings.c.at_us.in_(list(latest)),
                _current,
            )
        )
    }
    rows, superseded = [], []
    for at_us, price in latest.items():
        old = stored.get(at_us)
        if old is not None and int(old.price_micros) == price:
            continue
        if old is not None:
            superseded.append(int(old.id))
        revision = 1 if old is None else int(old.revision) + 1
        rows.append(
            {"product": product, "at_us": at_us, "price_micros": price, "source": source,
             "revision": revision, "created_us": now_us}
        )  # fmt: skip
    if superseded:
        connection.execute(
            _fixings.update().where(_fixings.c.id.in_(superseded)).values(superseded_us=now_us)
        )
    if rows:
        connection.execute(_fixings.insert(), rows)
    return FixingsStored(len(rows) - len(superseded), len(superseded))


def count(connection: sa.Connection, product: str) -> int:
    """How many (current) fixings a product has."""
    return connection.execute(
        sa.select(sa.func.count()).select_from(_fixings).where(_fixings.c.product == product, _current)
    ).scalar_one()


def _window(product: str, start_us: int, end_us: int) -> list[sa.ColumnElement[bool]]:
    return [_fixings.c.product == product, _fixings.c.at_us >= start_us, _fixings.c.at_us < end_us, _current]


def average(connection: sa.Connection, product: str, start_us: int, end_us: int) -> int | None:
    """The index average over ``[start, end)`` of the current revisions, or None without fixings."""
    total, n = connection.execute(
        sa.select(sa.func.sum(_fixings.c.price_micros), sa.func.count()).where(
            *_window(product, start_us, end_us)
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
        .where(_fixings.c.product == product, _fixings.c.at_us <= until_us, _current)
        .order_by(_fixings.c.at_us.desc(), _fixings.c.id.desc())
        .limit(limit)
    ).all()
    return [(int(a), int(p)) for a, p in reversed(rows)]


FILTER_WIDTH = 5
"""Fixings in the running median of :func:`filtered` (odd: the median is one of them)."""


def filtered(fixings: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The running median of ``(at_us, price_micros)`` fixings, oldest first: each price becomes the
    median of itself and the ``FILTER_WIDTH - 1`` before it (fewer at the start; of an even count, the
    lower middle, so every filtered price is an observed one)."""
    out = []
    for i, (at_us, _) in enumerate(fixings):
        window = sorted(p for _, p in fixings[max(0, i - FILTER_WIDTH + 1) : i + 1])
        out.append((at_us, window[(len(window) - 1) // 2]))
    return out


def vwap_micros(connection: sa.Connection, symbol: str, multiplier: int, tick_micros: int) -> int | None:
    """The volume-weighted trade price of an instrument in micro-dollars per GPU-hour, or None."""
    notional, qty = connection.execute(
        sa.select(sa.func.sum(_trades.c.price_ticks * _trades.c.qty), sa.func.sum(_trades.c.qty)).where(
            _trades.c.symbol == symbol, _trades.c.maker_order_id.notin_((EXERCISE, BASKET))
        )
    ).one()
    if not qty:
        return None
    return round(int(notional) * tick_micros / int(qty))


def add_fixings(
    house: House, product: str, fixings: Sequence[tuple[datetime, int]], source: str = "ingest"
) -> FixingsStored:
    """Store index fixings ``(instant, micro-dollars per GPU-hour)`` as of the exchange clock (see
    :func:`add`): repeats are skipped, a new price for a stored instant is a revision."""
    with house.db.begin() as connection:
        if connection.execute(sa.select(_products.c.id).where(_products.c.id == product)).first() is None:
            raise NotFoundError(f"no product {product!r}", field="product")
        return add(connection, product, [(to_epoch_us(at), p) for at, p in fixings], source, house.now_us())


def fix_from_trades(house: House, product: str, day: datetime) -> FixingInfo | None:
    """Record the volume-weighted price of the ``day`` forward's trades as a fixing (source ``trades``)
    at the start of that day; None when the day forward has not traded."""
    window = Window(WindowKind.DAY, day)
    symbol = f"{product}-{window.label}"
    with house.db.begin() as connection:
        row = connection.execute(sa.select(_instruments).where(_instruments.c.symbol == symbol)).one_or_none()
        if row is None:
            raise UnknownInstrumentError(f"no day forward {symbol}", field="day")
        inst = Instrument.of(row._mapping)
        vwap = vwap_micros(connection, symbol, inst.multiplier, inst.tick_micros)
        if vwap is None:
            return None
        add(connection, product, [(inst.window_start_us, vwap)], "trades", house.now_us(), observed=False)
    return FixingInfo(product, window.start, vwap, "trades")


def fixings(
    house: House,
    product: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
    revisions: bool = False,
) -> list[FixingInfo]:
    """A product's fixings in ``[start, end)``, oldest first (at most ``limit``); with ``revisions``
    the superseded revisions too (the audit trail of corrections), else only the current ones."""
    query = sa.select(_fixings).where(_fixings.c.product == product)
    if not revisions:
        query = query.where(_current)
    if start is not None:
        query = query.where(_fixings.c.at_us >= to_epoch_us(start))
    if end is not None:
        query = query.where(_fixings.c.at_us < to_epoch_us(end))
    query = query.order_by(_fixings.c.at_us, _fixings.c.id).limit(page_limit(limit))
    with house.read() as connection:
        return [_info(r) for r in connection.execute(query)]


def fixings_since(
    house: House, product: str, after: int | None = None, limit: int = 1000
) -> tuple[int, list[FixingInfo]]:
    """The id of the product's newest fixing row (0 when none; corrections are new rows, so it grows
    with every change of the index) and the current fixings stored after row id ``after`` in storage
    order (at most ``limit``), or with ``after`` None the newest current one: what the stream's
    ``index`` channel announces."""
    query = sa.select(_fixings).where(_fixings.c.product == product, _current)
    if after is None:
        query = query.order_by(_fixings.c.id.desc()).limit(1)
    else:
        query = query.where(_fixings.c.id > after).order_by(_fixings.c.id).limit(page_limit(limit))
    with house.read() as connection:
        newest = connection.execute(
            sa.select(sa.func.max(_fixings.c.id)).where(_fixings.c.product == product)
        ).scalar()
        return newest or 0, [_info(r) for r in connection.execute(query)]


def _info(row: sa.Row) -> FixingInfo:
    superseded = None if row.superseded_us is None else from_epoch_us(row.superseded_us)
    return FixingInfo(
        row.product, from_epoch_us(row.at_us), row.price_micros, row.source, row.revision, superseded
    )


def record_settlement(
    connection: sa.Connection, symbol: str, product: str, start_us: int, end_us: int
) -> None:
    """Remember which fixing revisions the cash settlement of ``symbol`` averaged."""
    ids = connection.execute(sa.select(_fixings.c.id).where(*_window(product, start_us, end_us))).scalars()
    connection.execute(_settlement_fixings.insert(), [{"symbol": symbol, "fixing_id": i} for i in ids])


def settled_on(house: House, symbol: str) -> list[FixingInfo]:
    """The fixing revisions ``symbol`` was cash-settled against (empty until it is); later corrections
    of those fixings do not change this list, nor the settlement."""
    query = (
        sa.select(_fixings)
        .join(_settlement_fixings, _settlement_fixings.c.fixing_id == _fixings.c.id)
        .where(_settlement_fixings.c.symbol == symbol)
        .order_by(_fixings.c.at_us, _fixings.c.id)
    )
    with house.read() as connection:
        if (
            connection.execute(
                sa.select(_instruments.c.symbol).where(_instruments.c.symbol == symbol)
            ).first()
            is None
        ):
            raise UnknownInstrumentError(f"no instrument {symbol}", field="symbol")
        return [_info(r) for r in connection.execute(query)]
