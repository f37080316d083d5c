"""Which ``flopex serve`` process holds the books: each process heartbeats its base URL and whether it
is the writer into ``serve_processes``; a process that does not hold them (a standby waiting to take
over) sends book requests to the writer it finds there.

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


def heartbeat(engine: sa.Engine, url: str, writer: bool) -> None:
    """Record that the process at ``url`` is alive, and whether it holds the books."""
    with engine.begin() as connection:
        now = database_now_us(connection)
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        row = {"url": url, "writer": writer, "heartbeat_us": now}
        connection.execute(
            dialect.insert(_processes)
            .values(row)
            .on_conflict_do_update(index_elements=["url"], set_={"writer": writer, "heartbeat_us": now})
        )


def leave(engine: sa.Engine, url: str) -> None:
    """Remove the process at ``url`` (it is shutting down)."""
    with engine.begin() as connection:
        connection.execute(_processes.delete().where(_processes.c.url == url))


def writer_url(engine: sa.Engine) -> str | None:
    """The base URL of the live process holding the books, or None while no live process does (the
    writer died and no process has taken over yet)."""
    with engine.connect() as connection:
        now = database_now_us(connection)
        return connection.execute(
            sa.select(_processes.c.url)
            .where(_processes.c.writer, _processes.c.heartbeat_us >= now - FRESH_US)
            .order_by(_processes.c.heartbeat_us.desc())
            .limit(1)
        ).scalar()
