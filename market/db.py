"""The one place database engines are built (the schema migrations are :mod:`migrations.commands`).

SQLite (the embedded default) is tuned for durability: WAL journal, ``synchronous=FULL`` so an
acknowledged commit survives power loss, foreign keys enforced, and a busy timeout so concurrent
readers wait instead of failing. PostgreSQL (production) gets a connection pool with liveness checks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from market.errors import OutOfRangeError

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


def _out_of_range(context: sa.engine.ExceptionContext) -> None:
    """Turn "this integer does not fit its column" into :class:`OutOfRangeError` on every database.

    The domain checks its bounds before writing (ledger balances, quantities); this is the last line:
    a sum that still leaves a column's range (PostgreSQL ``integer``/``bigint``, a Python int SQLite
    cannot bind) must roll the transaction back as a request error, never surface as a 500.
    """
    original = context.original_exception
    state = getattr(original, "sqlstate", None) or getattr(getattr(original, "diag", None), "sqlstate", None)
    if isinstance(original, OverflowError) or state in _OUT_OF_RANGE_SQLSTATES:
        raise OutOfRangeError("a value is out of the range the exchange stores; nothing was written")


def make_engine(url: str | sa.URL, *, pool_size: int = 10, echo: bool = False) -> sa.Engine:
    """Build an engine for ``url`` with the settings flopex relies on for durability."""
    engine = _make_engine(url, pool_size=pool_size, echo=echo)
    sa.event.listen(engine, "handle_error", _out_of_range)
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
