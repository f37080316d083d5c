"""Which products' books are split off into partitions of their own, and claiming one for a shard.

A shard (``flopex serve --products H100,H200``) logs the commands of each product it holds under
that product's partition (:mod:`market.partitions`). The first claim of a product records it in
``book_partitions``; from then on every process -- a shard, or a single writer taking over all the
books -- replays that product's books from their own partition. A product whose books hold live
orders logged by the single writer cannot be split off: its orders rest in the single writer's
partition, and a shard replaying only its own would not find them (cancel them, or rebuild the
book with ``flopex admin rebuild-book``, first).
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import BookUnavailableError
from market.sharing.tables import BookPartition
from market.store import insert_ignore
from market.tables import Instrument, Order
from market.vocabulary import LIVE

_partitions = BookPartition.__table__
_instruments = Instrument.__table__
_orders = Order.__table__


def product_lock(product: str) -> str:
    """The name of a product's shard lock among the books' locks (no symbol is spelled so)."""
    return f"*product:{product}*"


def split_products(connection: sa.Connection) -> frozenset[str]:
    """The products whose books are partitions of their own."""
    return frozenset(connection.execute(sa.select(_partitions.c.product)).scalars())


def claim(connection: sa.Connection, product: str, now_us: int) -> None:
    """Split ``product``'s books off into their own partition, unless they already are.

    Raises :class:`BookUnavailableError` when the single writer left live orders on them.
    """
    if product in split_products(connection):
        return
    live = connection.execute(
        sa.select(sa.func.count())
        .select_from(_orders.join(_instruments, _orders.c.symbol == _instruments.c.symbol))
        .where(_instruments.c.product == product, _orders.c.status.in_(LIVE))
    ).scalar_one()
    if live:
        raise BookUnavailableError(
            f"{live} live orders rest on {product}'s books in the single writer's log: cancel them "
            "(or flopex admin rebuild-book) before a shard takes the product"
        )
    insert_ignore(connection, _partitions, [{"product": product, "claimed_us": now_us}])


def product_of(connection: sa.Connection, symbol: str) -> str | None:
    """The product of the instrument ``symbol`` (None: no such instrument)."""
    return connection.execute(
        sa.select(_instruments.c.product).where(_instruments.c.symbol == symbol)
    ).scalar_one_or_none()
