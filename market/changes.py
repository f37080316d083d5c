"""What a commit of order entry changed, gathered just before it commits.

An order use case calls :func:`changes_of` last inside :meth:`market.house.House.transaction`: the
unit of work is flushed, and the rows it wrote -- which the books and the unit of work hold in memory
-- become the records of a :class:`market.records.Changes`. Two reads inside the same transaction
complete them, and only when needed: the earlier fills of orders that had traded before, and the
legs of their one-cancels-other pairs that the commit did not touch. The caller of the use case
(the API's stream) then publishes from this value and reads nothing back after the commit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.queries import book_of, order_info, trade_info
from market.records import Changes, OrderInfo
from market.tables import BASKET, EXERCISE, ISSUE, Order, Trade

if TYPE_CHECKING:
    from market.house import House
    from market.store import UnitOfWork

_orders, _trades = Order.__table__, Trade.__table__
NOT_MARKET = (EXERCISE, ISSUE, BASKET)  # trades that no order made: left out of public trades
_WANTED: ContextVar[bool] = ContextVar("flopex_changes_wanted", default=True)


@contextmanager
def answers_only() -> Iterator[None]:
    """Inside, order use cases gather only what their answers need, not everything their commit
    changed: for callers that publish nothing (the facade's plain methods, whose answers stay the
    same). Gathering it all costs reads inside the write transaction -- a tenth of an order's time."""
    token = _WANTED.set(False)
    try:
        yield
    finally:
        _WANTED.reset(token)


def changes_of(house: House, uow: UnitOfWork) -> Changes:
    """Flush ``uow`` and describe everything it wrote (see the module docstring); the commit follows,
    so if it fails the caller gets the error, never these changes.

    Under :func:`answers_only`, the description holds just the orders whose every fill the commit
    wrote (no trades, books or pair legs, nothing read): :func:`records` reads any other order."""
    uow.flush()
    trades = list(uow.written_trades)
    fills: defaultdict[str, list[dict]] = defaultdict(list)
    for trade in trades:
        fills[trade["maker_order_id"]].append(trade)
        fills[trade["taker_order_id"]].append(trade)
    if not _WANTED.get():
        known = (
            order_info(house, row, fills.get(oid, []))
            for oid, row in uow.written_orders.items()
            if row["filled"] == sum(t["qty"] for t in fills.get(oid, ()))
        )
        return Changes(orders=tuple(known), trades=(), books=(), since_trade_id=0)
    trading = house.books()
    rows = dict(uow.written_orders)
    links = Counter(row["link_id"] for row in rows.values() if row["link_id"] is not None)
    unseen = [link for link, legs in links.items() if legs < 2]
    if unseen:  # a pair's other leg the commit left alone (live, or closed earlier)
        for row in uow.connection.execute(sa.select(_orders).where(_orders.c.link_id.in_(unseen))):
            rows.setdefault(row.id, dict(row._mapping))
    earlier = [oid for oid, row in rows.items() if row["filled"] > sum(t["qty"] for t in fills.get(oid, ()))]
    if earlier:  # orders that traded before this commit: all their fills, as the order record shows them
        for oid in earlier:
            fills[oid] = []
        query = sa.select(_trades).where(
            sa.or_(_trades.c.maker_order_id.in_(earlier), _trades.c.taker_order_id.in_(earlier))
        )
        for found in uow.connection.execute(query.order_by(_trades.c.id)):
            trade = dict(found._mapping)
            for oid in {trade["maker_order_id"], trade["taker_order_id"]}.intersection(earlier):
                fills[oid].append(trade)
    orders = tuple(order_info(house, row, fills.get(oid, [])) for oid, row in rows.items())
    symbols = sorted({order.symbol for order in orders} | {t["symbol"] for t in trades})
    return Changes(
        orders=orders,
        trades=tuple(
            trade_info(t, trading.instrument(t["symbol"]).tick_micros)
            for t in trades
            if t["maker_order_id"] not in NOT_MARKET
        ),
        books=tuple(book_of(trading, symbol) for symbol in symbols),
        since_trade_id=_newest_before(uow, trades),
    )


def _newest_before(uow: UnitOfWork, trades: list[dict]) -> int:
    """The newest trade id before this commit's trades (0 if none), read in the transaction: other
    processes (shards) write trades too, so no memory of this one can say."""
    newest = sa.select(sa.func.max(_trades.c.id))
    if trades:
        newest = newest.where(_trades.c.id < trades[0]["id"])
    return uow.connection.execute(newest).scalar() or 0


def records(changes: Changes, rows: list[dict], uow: UnitOfWork, house: House) -> list[OrderInfo]:
    """The records of ``rows`` (orders a use case answers with) as committed: from ``changes`` when the
    commit wrote them, else (a resent order returned as it was) read in the transaction."""
    known = {order.id: order for order in changes.orders}
    return [known.get(row["id"]) or order_info(house, row, connection=uow.connection) for row in rows]
