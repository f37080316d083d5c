"""Order entry: place (one, a grouped batch, or a one-cancels-other pair), cancel, cancel all, amend.

Each call is one transaction of :meth:`market.house.House.transaction`: the matching engine moves,
the command log and every consequence (holds, fills, positions, fees) are written, and the records
are returned after the commit with what the commit changed (:class:`market.records.Committed`: the
answer and a :class:`market.records.Changes` of orders, trades and books, for the API's stream).
The facade offers each as ``Exchange.<use case>`` (the answer alone) and
``Exchange.<use case>_committed`` (both).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.accounts import roles_of
from market.changes import answers_only, changes_of, records
from market.errors import DuplicateClientOrderIdError, InvalidRequestError, MarketError, OrderRejectedError
from market.limits import live_orders
from market.queries import order_info
from market.records import Committed, OrderInfo, OrderRequest
from market.tables import Order
from market.units import from_epoch_us
from market.vocabulary import LIVE

if TYPE_CHECKING:
    from market.house import House
    from market.store import UnitOfWork


def place_order(house: House, account_id: str, request: OrderRequest) -> OrderInfo:
    """Validate, hold and match a new order; returns it after the commit.

    Raises the validation errors (``off_tick`` is the API's job via :mod:`market.units`;
    ``insufficient_funds``, ``inventory_exceeded``, ``instrument_not_open``,
    ``duplicate_client_order_id``, ...) and :class:`OrderRejectedError` with the engine's reason
    when the book refused it (the rejection is stored, so a resend returns it again).
    """
    with answers_only():  # the answer is all it returns
        result = place_orders(house, [(account_id, request)]).value[0]
    if isinstance(result, MarketError):
        raise result
    if result.status == "rejected":
        raise OrderRejectedError(result.reason or "rejected", f"the book refused the order: {result.reason}")
    return result


def place_orders(
    house: House, batch: Sequence[tuple[str, OrderRequest]]
) -> Committed[list[OrderInfo | MarketError]]:
    """Place several orders in ONE transaction (grouped commit); one result or error per order, and
    what the commit changed.

    Unlike :func:`place_order`, an order the book refused comes back as an ``OrderInfo`` with
    status ``rejected`` (it is stored), not as an error.
    """
    roles = {}
    results: list[dict | MarketError] = []
    with house.transaction() as uow:
        trading = house.books()
        for account_id, request in batch:
            try:
                if account_id not in roles:
                    roles[account_id] = roles_of(uow.connection, account_id)
                results.append(trading.new_order(uow, account_id, roles[account_id], request))
            except MarketError as error:
                results.append(error)
        changes = changes_of(house, uow)
        placed = iter(records(changes, [r for r in results if not isinstance(r, MarketError)], uow, house))
    return Committed([r if isinstance(r, MarketError) else next(placed) for r in results], changes)


def place_oco(
    house: House, account_id: str, legs: tuple[OrderRequest, OrderRequest]
) -> Committed[tuple[OrderInfo, OrderInfo]]:
    """Place two orders of one instrument as a one-cancels-other pair, in one transaction; the legs
    and what the commit changed.

    Each leg is checked and held like a single order (so the pair holds for both legs), then one
    engine ``oco`` command admits both or neither (the pair rules are in ``docs/matching.md``): when
    one leg trades, triggers or closes, the engine cancels the other in the same command, hence in
    the same commit. Both rows carry the pair's ``link_id``. A pair the book refuses comes back with
    both legs ``rejected`` (stored, like a single order's rejection); a resend of the same pair under
    the same ``client_order_id`` values returns the original legs.
    """
    with house.transaction() as uow:
        trading = house.books()
        first, second = legs = (trading.priced(legs[0]), trading.priced(legs[1]))
        if first.symbol != second.symbol:
            raise InvalidRequestError("both legs of a pair trade one instrument", field="symbol")
        roles = roles_of(uow.connection, account_id)
        sent = [trading.resent(uow, account_id, leg) for leg in legs]
        existing = [found for _, _, found in sent if found is not None]
        if existing:
            links = {row["link_id"] for row in existing}
            if len(existing) == 2 and len(links) == 1 and None not in links:
                changes = changes_of(house, uow)
                return Committed(tuple(records(changes, existing, uow, house)), changes)  # type: ignore[arg-type]
            raise DuplicateClientOrderIdError("a client_order_id of this pair names another order")
        admitted = [trading.admit(uow, account_id, roles, req, digest) for req, digest, _ in sent]
        link = secrets.token_hex(10)
        orders = [
            {k: v for k, v in cmd.items() if k not in ("op", "symbol", "account")} for _, cmd in admitted
        ]
        command = {"op": "oco", "symbol": first.symbol, "account": account_id, "link": link, "orders": orders}
        trading.apply(uow, command)
        for row, _ in admitted:
            uow.ledger.post("order", account_id=account_id, ref=row["id"])
        changes = changes_of(house, uow)
        pair = records(changes, [row for row, _ in admitted], uow, house)
    return Committed((pair[0], pair[1]), changes)


def pair(house: House, account_id: str, link_id: str) -> list[OrderInfo]:
    """The legs of the account's one-cancels-other pair ``link_id`` (none if it names no pair of it)."""
    orders = Order.__table__
    with house.read() as connection:
        rows = connection.execute(
            sa.select(orders)
            .where(orders.c.account_id == account_id, orders.c.link_id == link_id)
            .order_by(orders.c.created_us, orders.c.id)
        ).all()
        return [order_info(house, dict(row._mapping), connection=connection) for row in rows]


def open_order_count(house: House, account_id: str) -> int:
    """How many live orders the account holds: counted in memory by the process holding every book
    (the books keep the count as orders come and go), read from the database on a shard, whose books
    are only some of the account's (:mod:`market.limits`)."""
    if house.products is None:
        return house.books().open_orders[account_id]
    with house.read() as connection:
        return live_orders(connection, account_id)


def cancel_order(house: House, account_id: str, order_id: str) -> Committed[OrderInfo]:
    """Cancel a live order (``not_found`` for another account's order, ``order_closed`` if done); the
    order and what the commit changed."""
    with house.transaction() as uow:
        row, rejection = house.books().cancel(uow, account_id, order_id)
        changes = changes_of(house, uow)
        (order,) = records(changes, [row], uow, house)
    return _checked(Committed(order, changes), rejection)


def cancel_orders(house: House, account_id: str, symbol: str | None = None) -> Committed[list[OrderInfo]]:
    """Cancel every live order of the account (in one book, or everywhere); the orders and what the
    commit changed."""
    with house.transaction() as uow:
        rows = cancel_live(house, uow, account_id, symbol)
        changes = changes_of(house, uow)
        return Committed(records(changes, rows, uow, house), changes)


def cancel_live(house: House, uow: UnitOfWork, account_id: str, symbol: str | None = None) -> list[dict]:
    """Inside a transaction: cancel the account's live orders (of ``symbol``, or all); their rows."""
    trading = house.books()
    mine = [
        r
        for r in trading.live.values()
        if r["account_id"] == account_id and (symbol is None or r["symbol"] == symbol)
    ]
    for row in mine:
        if row["id"] in trading.live:  # not the other leg of a pair cancelled just before
            trading.cancel(uow, account_id, row["id"])
    return mine


def amend_order(
    house: House,
    account_id: str,
    order_id: str,
    *,
    qty: int | None = None,
    price_ticks: int | None = None,
    price: str | None = None,
) -> Committed[OrderInfo]:
    """Change a live order's open quantity and/or price (a decrease keeps priority); the order and what
    the commit changed. The new price is ``price_ticks``, or ``price`` as a decimal string (what the
    API receives), converted with the order's instrument inside the transaction, so no caller reads
    the order first for its tick."""
    with house.transaction() as uow:
        row, rejection = house.books().amend(uow, account_id, order_id, qty, price_ticks, price)
        changes = changes_of(house, uow)
        (order,) = records(changes, [row], uow, house)
    return _checked(Committed(order, changes), rejection)


def _checked(committed: Committed[OrderInfo], rejection: str | None) -> Committed[OrderInfo]:
    """The commit's answer, or the engine's refusal of the command (committed in the log) raised."""
    if rejection is not None:
        raise OrderRejectedError(rejection, f"the book refused the command: {rejection}")
    return committed


def advance_clock(house: House) -> None:
    """Move the books to the exchange clock: good-till-date orders whose time has come expire."""
    with house.transaction():
        pass  # every book-touching transaction first advances the engine to its instant


def next_order_expiry(house: House) -> datetime | None:
    """The earliest expiry of a live good-till-date order, or None when there is none."""
    orders = Order.__table__
    with house.read() as connection:
        first = connection.execute(
            sa.select(sa.func.min(orders.c.expire_at_us)).where(
                orders.c.status.in_(LIVE), orders.c.tif == "gtd"
            )
        ).scalar()
    return None if first is None else from_epoch_us(first)
