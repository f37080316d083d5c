"""The one place database engines are built (the schema migrations are :mod:`migrations.commands`).

SQLite (the embedded default) is tuned for durability: WAL journal, ``synchronous=FULL`` so an
acknowledged commit survives power loss, foreign keys enforced, and a busy timeout so concurrent
readers wait instead of failing. PostgreSQL (production) gets a connection pool with liveness checks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from market.errors import DatabaseBusyError, OutOfRangeError

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str | sa.URL) -> bool:
    """Whether ``url`` names an SQLite database."""
    return sa.make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


_OUT_OF_RANGE_SQLSTATES = frozenset({"22003"})  # numeric_value_out_of_range (PostgreSQL)
_BUSY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock not available
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def _as_market_error(context: sa.engine.ExceptionContext) -> None:
    """Turn the database failures a request can cause, or wait on, into market errors on every database.

    Out of range -- "this integer does not fit its column": the domain checks its bounds before
    writing (ledger balances, quantities); this is the last line: a sum that still leaves a column's
    range (PostgreSQL ``integer``/``bigint``, a Python int SQLite cannot bind) must roll the
    transaction back as a request error (:class:`OutOfRangeError`), never surface as a 500.

    Busy -- SQLite still locked after the busy timeout (a long write, a loaded machine), or a
    PostgreSQL serialization failure, deadlock or lock timeout: the transaction is rolled back and
    the client told to retry (:class:`DatabaseBusyError`, 503), instead of a 500 that says nothing.
    """
    original = context.original_exception
    state = getattr(original, "sqlstate", None) or getattr(getattr(original, "diag", None), "sqlstate", None)
    if isinstance(original, OverflowError) or state in _OUT_OF_RANGE_SQLSTATES:
        raise OutOfRangeError("a value is out of the range the exchange stores; nothing was written")
    sqlite_busy = isinstance(original, sqlite3.OperationalError) and str(original).startswith(_SQLITE_BUSY)
    if sqlite_busy or state in _BUSY_SQLSTATES:
        raise DatabaseBusyError("the database is busy; nothing was written: send the request again")


def make_engine(url: str | sa.URL, *, pool_size: int = 10, echo: bool = False) -> sa.Engine:
    """Build an engine for ``url`` with the settings flopex relies on for durability."""
    engine = _make_engine(url, pool_size=pool_size, echo=echo)
    sa.event.listen(engine, "handle_error", _as_market_error)
    return engine


def _make_engine(url: str | sa.URL, *, pool_size: int, echo: bool) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":  # no driver named: use psycopg 3, the one flopex installs
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(
        parsed, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
