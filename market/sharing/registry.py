"""Which ``flopex serve`` process holds which books: each process heartbeats its base URL, whether it
holds books and which (``*`` all of them, or a shard's products) into ``serve_processes``; a process
that does not hold a book (a standby waiting to take over, or another shard) sends its requests to
the holder it finds there.

The database's advisory lock decides who the writer is (``market.house.WRITER_LOCK``); this table
only tells clients where that is, so a stale row can misdirect a request for at most
:data:`FRESH_US`, never let two processes write a book.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from market.sharing.state import database_now_us
from market.sharing.tables import ServeProcess

_processes = ServeProcess.__table__

FRESH_US = 3_000_000
"""A heartbeat older than this (3 s, three missed beats) is a process that is gone."""


ALL_BOOKS = "*"
"""``books`` of the single writer: every book."""


def heartbeat(engine: sa.Engine, url: str, writer: bool, books: str = ALL_BOOKS) -> None:
    """Record that the process at ``url`` is alive, whether it holds books, and which: ``books`` is
    :data:`ALL_BOOKS` or a shard's comma-separated products.

    A shard holds its products' locks, so any other row naming one of them is stale (a dead shard's
    whose books it adopted): the product is struck from those rows. Left there, it would stay an
    orphan to every shard (:func:`orphans`) long after the adoption, and a later planned move of the
    product would find its lock free for a moment and let any shard's failover snatch it."""
    books = books if writer else ""
    with engine.begin() as connection:
        now = database_now_us(connection)
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        row = {"url": url, "writer": writer, "heartbeat_us": now, "books": books}
        connection.execute(
            dialect.insert(_processes)
            .values(row)
            .on_conflict_do_update(
                index_elements=["url"], set_={"writer": writer, "heartbeat_us": now, "books": books}
            )
        )
        held = set(_products(books)) - {ALL_BOOKS}
        if held:
            _strike(connection, url, held)


def _strike(connection: sa.Connection, url: str, held: set[str]) -> None:
    """Strike ``held`` (the products the process at ``url`` holds) from every other row."""
    others = connection.execute(
        sa.select(_processes.c.url, _processes.c.books).where(_processes.c.url != url, _processes.c.writer)
    ).all()
    for other, listed in others:
        kept = [p for p in _products(listed) if p not in held]
        if len(kept) != len(_products(listed)):
            connection.execute(
                _processes.update().where(_processes.c.url == other).values(books=",".join(kept))
            )


def owners(engine: sa.Engine) -> dict[str, str]:
    """The base URL of the live process holding each product's books (key :data:`ALL_BOOKS`: the
    single writer, holding every book), by the freshest heartbeat."""
    with engine.connect() as connection:
        now = database_now_us(connection)
        rows = connection.execute(
            sa.select(_processes.c.url, _processes.c.books)
            .where(_processes.c.writer, _processes.c.heartbeat_us >= now - FRESH_US)
            .order_by(_processes.c.heartbeat_us)
        ).all()
    return {product: url for url, books in rows for product in _products(books)}


def orphans(engine: sa.Engine, url: str) -> set[str]:
    """Products other shards' rows name, live or stale: the books a shard at ``url`` may have to
    adopt. Whether one is orphaned is its product lock's to say: PostgreSQL frees it the moment the
    holder's session ends, while a live holder keeps it (a row still fresh for up to :data:`FRESH_US`
    after a SIGKILL does not delay the takeover). A shard stopped cleanly leaves its row first, so
    its products are not adopted."""
    with engine.connect() as connection:
        books = connection.execute(
            sa.select(_processes.c.books).where(_processes.c.writer, _processes.c.url != url)
        ).scalars()
        return {p for listed in books for p in _products(listed)} - {ALL_BOOKS}


def _products(books: str) -> list[str]:
    return [p for p in books.split(",") if p]


def leave(engine: sa.Engine, url: str) -> None:
    """Remove the process at ``url`` (it is shutting down)."""
    with engine.begin() as connection:
        connection.execute(_processes.delete().where(_processes.c.url == url))


def live_urls(engine: sa.Engine) -> list[str]:
    """The base URLs of every live process (heartbeat within :data:`FRESH_US`), sorted: the peers a
    web page served by one of them may call (``api.cors``)."""
    with engine.connect() as connection:
        now = database_now_us(connection)
        return list(
            connection.execute(
                sa.select(_processes.c.url)
                .where(_processes.c.heartbeat_us >= now - FRESH_US)
                .order_by(_processes.c.url)
            ).scalars()
        )
