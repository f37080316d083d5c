"""Per-account limits that hold for the whole exchange, however many processes hold its books.

The cap on an account's open orders (``FLOPEX_MAX_OPEN_ORDERS``) is checked where an order is
admitted. A process holding every book (the single writer, any database) knows every live order in
memory and counts there, as it always did. A shard knows only its own books' orders, so it counts
those in memory (they include orders of the transaction still running, which the database does not
show yet) and adds the account's live orders in the other shards' books from the database, the one
source of truth. Two shards admitting orders of one account at once must not both see room for the
last one: the shard first locks the account's ``available`` ledger row (``FOR UPDATE``), which every
shard's admission of that account takes before counting, so the second waits for the first to commit
and then counts its order (PostgreSQL's read-committed statements see rows committed before they
start). A deadlock against another lock order ends as ``503 database_busy``, never as a breach.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from market.errors import OpenOrderLimitError
from market.ledger import AVAILABLE
from market.store import UnitOfWork
from market.tables import Instrument, Order
from market.vocabulary import LIVE

_orders = Order.__table__
_instruments = Instrument.__table__


def live_orders(connection: sa.Connection, account_id: str, outside: Collection[str] | None = None) -> int:
    """The account's committed live orders, only in books of products not in ``outside`` if given."""
    query = sa.select(sa.func.count()).select_from(_orders)
    query = query.where(_orders.c.account_id == account_id, _orders.c.status.in_(LIVE))
    if outside is not None:
        products = sa.select(_instruments.c.symbol).where(_instruments.c.product.not_in(list(outside)))
        query = query.where(_orders.c.symbol.in_(products))
    return int(connection.execute(query).scalar_one())


def check_open_orders(
    uow: UnitOfWork, account_id: str, cap: int | None, here: int, held: Collection[str] | None
) -> None:
    """:class:`OpenOrderLimitError` when the account already holds ``cap`` live orders: ``here`` in
    this process's books, plus, on a shard (``held``: the products whose books it holds; None for the
    process holding every book), those in other shards' books (see the module)."""
    if cap is None:
        return
    count = here
    if held is not None:
        uow.ledger.balance(account_id, AVAILABLE)  # locks the account's row until the commit
        count += live_orders(uow.connection, account_id, outside=held)
    if count >= cap:
        raise OpenOrderLimitError(
            f"the account holds {count} open orders, the most it may; cancel some first", field="symbol"
        )
