"""Reads: an account's orders and fills, an instrument's trades and book, positions and deliveries.

Reads go to the database (the book comes from the engine's memory); prices carry the instrument's
tick so the API can render them as decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from market.catalog import instrument
from market.delivery import delivery_info
from market.errors import InvalidRequestError, NotFoundError
from market.house import page_limit
from market.instruments import Instrument
from market.pnl import position_pnl
from market.records import (
    BookInfo,
    BookLevel,
    DeliveryInfo,
    FillInfo,
    OrderInfo,
    PositionInfo,
    TradeInfo,
    record_of,
)
from market.spans import ALL, Span, keyset
from market.tables import BASKET, EXERCISE, ISSUE, Delivery, Order, Position, Trade
from market.tables import Instrument as InstrumentTable
from market.units import from_epoch_us, to_epoch_us
from market.vocabulary import LIVE

if TYPE_CHECKING:
    from market.house import House
    from market.trading import Trading

_instruments, _orders, _trades, _positions, _deliveries = (
    t.__table__ for t in (InstrumentTable, Order, Trade, Position, Delivery)
)


def order(house: House, account_id: str, order_id: str) -> OrderInfo:
    """One of the account's orders with its fills (another account's is ``not_found``)."""
    with house.read() as connection:
        row = connection.execute(
            sa.select(_orders).where(_orders.c.id == order_id, _orders.c.account_id == account_id)
        ).one_or_none()
    if row is None:
        raise NotFoundError(f"no order {order_id!r}", field="order_id")
    return order_info(house, dict(row._mapping))


def order_by_client_id(house: House, account_id: str, client_order_id: str) -> OrderInfo:
    """The account's order with that ``client_order_id``."""
    with house.read() as connection:
        row = connection.execute(
            sa.select(_orders).where(
                _orders.c.account_id == account_id, _orders.c.client_order_id == client_order_id
            )
        ).one_or_none()
    if row is None:
        raise NotFoundError(f"no order with client_order_id {client_order_id!r}", field="client_order_id")
    return order_info(house, dict(row._mapping))


def orders(
    house: House,
    account_id: str,
    *,
    status: str | None = None,
    symbol: str | None = None,
    after: str | None = None,
    limit: int = 100,
    span: Span = ALL,
) -> list[OrderInfo]:
    """The account's orders by creation (oldest first unless ``span.descending``), created within
    ``span``; ``status`` ``live`` selects open and partially filled; ``after`` is the id of the last
    order of the previous page."""
    query = sa.select(_orders).where(_orders.c.account_id == account_id)
    if status == "live":
        query = query.where(_orders.c.status.in_(LIVE))
    elif status is not None:
        query = query.where(_orders.c.status == status)
    if symbol is not None:
        query = query.where(_orders.c.symbol == symbol)
    with house.read() as connection:
        anchor = None
        if after is not None:
            created = connection.execute(
                sa.select(_orders.c.created_us).where(
                    _orders.c.id == after, _orders.c.account_id == account_id
                )
            ).scalar_one_or_none()
            if created is None:
                raise InvalidRequestError("unknown cursor", field="cursor")
            anchor = (created, after)
        keys = (_orders.c.created_us, _orders.c.id)
        query = keyset(query, span, _orders.c.created_us, keys, anchor).limit(page_limit(limit))
        return [order_info(house, dict(r._mapping), None, connection) for r in connection.execute(query)]


def order_info(
    house: House, row: dict, trades: list[dict] | None = None, connection: sa.Connection | None = None
) -> OrderInfo:
    """An order record; its fills are read unless ``trades`` (all of them) are given."""
    if trades is None:
        if connection is None:
            with house.read() as own:
                return order_info(house, row, None, own)
        trades = [
            dict(t._mapping)
            for t in connection.execute(
                sa.select(_trades)
                .where(sa.or_(_trades.c.maker_order_id == row["id"], _trades.c.taker_order_id == row["id"]))
                .order_by(_trades.c.id)
            )
        ]
    held = house.trading.instruments.get(row["symbol"]) if house.trading else None
    tick = held.tick_micros if held is not None else None
    if tick is None:
        with house.read() as own:
            tick = tick_of(house, row["symbol"], own)
    fills = tuple(fill_info(t, tick, row["id"]) for t in trades)
    return record_of(OrderInfo, row, tick_micros=tick, fills=fills)


def tick_of(house: House, symbol: str, connection: sa.Connection) -> int:
    """An instrument's tick in micro-dollars, from the books when they are open."""
    if house.trading is not None and symbol in house.trading.instruments:
        return house.trading.instruments[symbol].tick_micros
    return connection.execute(
        sa.select(_instruments.c.tick_micros).where(_instruments.c.symbol == symbol)
    ).scalar_one()


def fills(
    house: House, account_id: str, *, after: int | None = None, limit: int = 100, span: Span = ALL
) -> list[FillInfo]:
    """The account's fills within ``span``, oldest first unless ``span.descending``, after trade id
    ``after``."""
    mine = sa.select(_trades).where(
        sa.or_(_trades.c.buyer_id == account_id, _trades.c.seller_id == account_id)
    )
    anchor = None if after is None else (after,)
    query = keyset(mine, span, _trades.c.created_us, (_trades.c.id,), anchor).limit(page_limit(limit))
    with house.read() as connection:
        result = []
        for row in connection.execute(query):
            trade = dict(row._mapping)
            tick = tick_of(house, trade["symbol"], connection)
            for side, who in (("buy", trade["buyer_id"]), ("sell", trade["seller_id"])):
                if who == account_id:
                    taker = trade["taker_side"] == side
                    result.append(
                        fill_info(trade, tick, trade["taker_order_id" if taker else "maker_order_id"])
                    )
        return result


def trades(
    house: House, symbol: str, *, after: int | None = None, limit: int = 100, span: Span = ALL
) -> list[TradeInfo]:
    """Public trades of an instrument within ``span``, oldest first unless ``span.descending``, after
    trade id ``after`` (option exercises and notes' issue trades, not market trades, are left out)."""
    anchor = None if after is None else (after,)
    query = keyset(_public_trades(house, symbol), span, _trades.c.created_us, (_trades.c.id,), anchor)
    return _trade_infos(house, symbol, query.limit(page_limit(limit)))


def trades_between(house: House, symbol: str, start: datetime, end: datetime) -> list[TradeInfo]:
    """Every public trade of ``symbol`` with ``start <= created_at < end``, oldest first (one indexed
    range read: tickers' 24-hour volume and candles use it)."""
    query = _public_trades(house, symbol).where(
        _trades.c.created_us >= to_epoch_us(start), _trades.c.created_us < to_epoch_us(end)
    )
    return _trade_infos(house, symbol, query.order_by(_trades.c.id))


def _public_trades(house: House, symbol: str) -> sa.Select:
    """The query of an instrument's market trades (``unknown_instrument`` if there is no instrument)."""
    if house.trading is not None and symbol in house.trading.instruments:
        pass  # a held book: known
    else:
        instrument(house, symbol)  # read from the database (no book here, or another shard's)
    return sa.select(_trades).where(
        _trades.c.symbol == symbol, _trades.c.maker_order_id.notin_((EXERCISE, ISSUE, BASKET))
    )


def _trade_infos(house: House, symbol: str, query: sa.Select) -> list[TradeInfo]:
    with house.read() as connection:
        tick = tick_of(house, symbol, connection)
        return [trade_info(t._mapping, tick) for t in connection.execute(query)]


def trade_info(trade: Mapping[str, Any], tick: int) -> TradeInfo:
    """The public record of a trade row."""
    return record_of(TradeInfo, trade, tick_micros=tick)


def book(house: House, symbol: str, depth: int | None = None) -> BookInfo:
    """The order book of an instrument, ``depth`` levels a side (all by default)."""
    with house.lock:
        return book_of(house.books(), symbol, depth)


def book_of(trading: Trading, symbol: str, depth: int | None = None) -> BookInfo:
    """The book of ``symbol`` as the engine holds it (the caller holds the books' lock)."""
    inst = trading.instrument(symbol)
    snap = trading.engine.snapshot(symbol)

    def levels(side: list[dict]) -> tuple[BookLevel, ...]:
        chosen = side if depth is None else side[: max(depth, 0)]
        return tuple(
            BookLevel(
                lvl["price"],
                sum(o["qty"] for o in lvl["orders"]),
                sum(o["visible"] for o in lvl["orders"]),
                len(lvl["orders"]),
            )
            for lvl in chosen
        )

    return BookInfo(
        symbol, snap["seq"], levels(snap["bids"]), levels(snap["asks"]), snap["last"], inst.tick_micros
    )


def positions(
    house: House,
    account_id: str,
    *,
    after: str | None = None,
    limit: int | None = None,
    state: str = "open",
) -> list[PositionInfo]:
    """The account's positions by symbol with their P&L (:mod:`market.pnl`), after symbol ``after``
    (at most ``limit``; all by default). ``state`` ``open``: lots held in an instrument not yet
    settled, or margin still held; ``closed``: the rest (flat, delivered or settled) -- history."""
    if state not in ("open", "closed"):
        raise InvalidRequestError("state must be open or closed", field="state")
    live = sa.select(_instruments.c.symbol).where(_instruments.c.status != "settled")
    held = sa.or_(
        sa.and_(_positions.c.qty != 0, _positions.c.symbol.in_(live)), _positions.c.margin_micros != 0
    )
    mine = sa.select(_positions).where(
        _positions.c.account_id == account_id, held if state == "open" else ~held
    )
    now = house.now_us()
    with house.read() as connection:
        rows = connection.execute(_keyset(mine, _positions.c.symbol, after, limit)).mappings().all()
        instruments = {
            r["symbol"]: Instrument.of(r)
            for r in connection.execute(
                sa.select(_instruments).where(_instruments.c.symbol.in_([r["symbol"] for r in rows]))
            ).mappings()
        }
        return [
            record_of(
                PositionInfo,
                r,
                tick_micros=instruments[r["symbol"]].tick_micros,
                state=state,
                pnl=position_pnl(connection, account_id, instruments[r["symbol"]], now),
            )
            for r in rows
        ]


def deliveries(
    house: House, account_id: str, *, after: int | None = None, limit: int | None = None
) -> list[DeliveryInfo]:
    """Delivery records where the account is the buyer or the provider, by id, after id ``after``
    (at most ``limit``; all by default)."""
    parties = sa.or_(_deliveries.c.buyer_id == account_id, _deliveries.c.provider_id == account_id)
    with house.read() as connection:
        rows = connection.execute(
            _keyset(sa.select(_deliveries).where(parties), _deliveries.c.id, after, limit)
        )
        return [delivery_info(connection, dict(r)) for r in rows.mappings()]


def _keyset(query: sa.Select, key: sa.ColumnElement, after: object, limit: int | None) -> sa.Select:
    """``query`` in ``key`` order from after ``after`` (None: the start), at most ``limit`` rows."""
    query = query.order_by(key)
    if after is not None:
        query = query.where(key > after)
    return query if limit is None else query.limit(page_limit(limit))


def fill_info(trade: dict, tick: int, order_id: str) -> FillInfo:
    """The fill of order ``order_id`` in a trade row."""
    maker = trade["maker_order_id"] == order_id
    taker_side = trade["taker_side"]
    side = taker_side if not maker else ("sell" if taker_side == "buy" else "buy")
    return FillInfo(
        trade_id=trade["id"],
        order_id=order_id,
        symbol=trade["symbol"],
        side=side,
        price_ticks=trade["price_ticks"],
        qty=trade["qty"],
        liquidity="maker" if maker else "taker",
        fee_micros=trade["buyer_fee_micros"] if side == "buy" else trade["seller_fee_micros"],
        tick_micros=tick,
        created_at=from_epoch_us(trade["created_us"]),
    )
