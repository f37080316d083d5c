"""Persistence of the exchange: the unit of work that turns one group of commands into one
transaction, the command log, and the per-book writer lock.

A :class:`UnitOfWork` collects every row a group of commands produces (command log, orders, trades,
ledger transfers, positions, inventory) and :meth:`UnitOfWork.flush` writes them with a fixed number
of statements, so grouping commands raises throughput without changing what is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from market.errors import BookUnavailableError
from market.ledger import Ledger
from market.tables import Capacity, Command, Inventory, Order, Position, Trade

_orders = Order.__table__
_trades = Trade.__table__
_commands = Command.__table__
_positions = Position.__table__
_inventory = Inventory.__table__
_capacity = Capacity.__table__

ORDER_MUTABLE = (
    "qty",
    "open_qty",
    "filled",
    "cancelled",
    "status",
    "reason",
    "price_ticks",
    "stop_price_ticks",
    "reserve_per_lot",
    "reserved_micros",
    "reserved_gpus",
    "triggered",
    "updated_us",
)


def dumps(value: object) -> str:
    """The one canonical JSON form of commands and events (replay compares these strings)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that reads what it will write: on SQLite it takes the write lock up front
    (``BEGIN IMMEDIATE``) so no other writer commits between its reads and its writes; on PostgreSQL
    the ledger and inventory reads lock their rows (``SELECT ... FOR UPDATE``)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def insert_ignore(connection: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert rows, skipping those whose primary key exists (SQLite and PostgreSQL)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


class UnitOfWork:
    """Everything one transaction will write, gathered in memory until :meth:`flush`."""

    def __init__(self, connection: sa.Connection, now_us: int) -> None:
        self.connection = connection
        self.now_us = now_us
        self.ledger = Ledger(connection, now_us)
        self.new_orders: dict[str, dict] = {}
        self.changed_orders: dict[str, dict] = {}
        self.trades: list[dict] = []
        self.written_trades: list[dict] = []  # trades flushed so far, with their ids
        self.written_orders: dict[str, dict] = {}  # order rows flushed so far (created or changed)
        self.commands: list[dict] = []
        self.applied = False  # whether a command reached the engine (a failure then needs a rebuild)
        self._positions: dict[tuple[str, str], dict] = {}
        self._new_positions: set[tuple[str, str]] = set()
        self._inventory: dict[tuple[str, str], dict | None] = {}
        self._capacity: dict[tuple[str, str, int], dict] = {}
        # accounts with a margin call in force, read once per transaction by market.clearing.calls
        # (None until read; the calls it writes reset it)
        self.under_call: frozenset[str] | None = None

    def touch(self, order: dict) -> None:
        """Mark an order row (new or existing) as changed."""
        order["updated_us"] = self.now_us
        if order["id"] not in self.new_orders:
            self.changed_orders[order["id"]] = order

    def position(self, account_id: str, symbol: str) -> dict:
        """The position row of ``account_id`` in ``symbol`` (a zero row if there is none yet)."""
        key = (account_id, symbol)
        if key not in self._positions:
            row = self.connection.execute(
                sa.select(_positions)
                .where(_positions.c.account_id == account_id, _positions.c.symbol == symbol)
                .with_for_update()  # shards' trades and the elected clearing pass write the same rows
            ).one_or_none()
            if row is None:
                self._new_positions.add(key)
                self._positions[key] = {
                    "account_id": account_id,
                    "symbol": symbol,
                    "qty": 0,
                    "cost_micros": 0,
                    "margin_micros": 0,
                    "fees_due_micros": 0,
                    "variation_micros": 0,
                }
            else:
                self._positions[key] = dict(row._mapping)
        return self._positions[key]

    def position_qty(self, account_id: str, symbol: str) -> int:
        """The account's net lots in ``symbol`` as this transaction sees them (no row is created)."""
        cached = self._positions.get((account_id, symbol))
        if cached is not None:
            return cached["qty"]
        qty = self.connection.execute(
            sa.select(_positions.c.qty).where(
                _positions.c.account_id == account_id, _positions.c.symbol == symbol
            )
        ).scalar()
        return qty or 0

    def load_positions(self, where: sa.ColumnElement[bool]) -> list[dict]:
        """Read the positions matching ``where`` in one query into this transaction (a pass over many
        accounts would otherwise read them one by one); returns the rows, as :meth:`position` does.
        The rows are locked on PostgreSQL, in key order: the clearing pass writes positions of books
        other processes (shards) trade in."""
        rows = []
        query = sa.select(_positions).where(where).order_by(_positions.c.account_id, _positions.c.symbol)
        for row in self.connection.execute(query.with_for_update()):
            key = (row.account_id, row.symbol)
            if key not in self._positions:
                self._positions[key] = dict(row._mapping)
            rows.append(self._positions[key])
        return rows

    def inventory(self, symbol: str, provider_id: str) -> dict | None:
        """A provider's inventory row in a physical forward, or None when it listed nothing there."""
        key = (symbol, provider_id)
        if key not in self._inventory:
            row = self.connection.execute(
                sa.select(_inventory)
                .where(_inventory.c.symbol == symbol, _inventory.c.provider_id == provider_id)
                .with_for_update()
            ).one_or_none()
            self._inventory[key] = None if row is None else dict(row._mapping)
        return self._inventory[key]

    def capacity(self, provider_id: str, product: str, days: list[int]) -> list[dict]:
        """The provider's per-day capacity rows for ``days`` (days without a row are left out)."""
        missing = [d for d in days if (provider_id, product, d) not in self._capacity]
        if missing:
            for row in self.connection.execute(
                sa.select(_capacity)
                .where(
                    _capacity.c.provider_id == provider_id,
                    _capacity.c.product == product,
                    _capacity.c.day_us.in_(missing),
                )
                .with_for_update()
            ):
                self._capacity[provider_id, product, row.day_us] = dict(row._mapping)
        return [self._capacity[k] for d in days if (k := (provider_id, product, d)) in self._capacity]

    def log(self, command: dict, events: list[dict], partition: str = "*") -> None:
        """Append a command and its events to the command log of its ``partition``
        (:mod:`market.partitions`)."""
        self.applied = True
        self.commands.append(
            {
                "partition": partition,
                "symbol": command.get("symbol"),
                "command": dumps(command),
                "events": dumps(events),
                "last_seq": events[-1]["seq"] if events else 0,
                "created_us": self.now_us,
            }
        )

    def flush(self) -> None:
        """Write everything gathered so far (the caller commits)."""
        conn = self.connection
        self.ledger.flush()
        if self.commands:
            conn.execute(_commands.insert(), self.commands)
        if self.new_orders:
            conn.execute(_orders.insert(), list(self.new_orders.values()))
            self.written_orders.update(self.new_orders)
        if self.changed_orders:
            _update(conn, _orders, ("id",), ORDER_MUTABLE, self.changed_orders.values())
            self.written_orders.update(self.changed_orders)
        if self.trades:
            ids = conn.execute(
                _trades.insert().returning(_trades.c.id, sort_by_parameter_order=True), self.trades
            ).scalars()
            for trade, trade_id in zip(self.trades, ids, strict=True):
                trade["id"] = trade_id
            self.written_trades.extend(self.trades)
        new = [self._positions[k] for k in self._new_positions]
        old = [p for k, p in self._positions.items() if k not in self._new_positions]
        if new:
            conn.execute(_positions.insert(), new)
        if old:
            _update(conn, _positions, ("account_id", "symbol"), POSITION_MUTABLE, old)
        rows = [r for r in self._inventory.values() if r is not None]
        if rows:
            _update(
                conn,
                _inventory,
                ("symbol", "provider_id"),
                ("listed_gpus", "sold_gpus", "reserved_gpus"),
                rows,
            )
        if self._capacity:
            _update(
                conn,
                _capacity,
                ("provider_id", "product", "day_us"),
                ("committed_gpus",),
                self._capacity.values(),
            )
        self._capacity.clear()
        self.new_orders.clear()
        self.changed_orders.clear()
        self.trades.clear()
        self.commands.clear()
        self._positions.clear()
        self._new_positions.clear()
        self._inventory.clear()


POSITION_MUTABLE = ("qty", "cost_micros", "margin_micros", "fees_due_micros", "variation_micros")


def _update(
    connection: sa.Connection,
    table: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[dict],
) -> None:
    """Write ``columns`` of every row back to ``table``, each row found by its ``keys`` (one executemany)."""
    connection.execute(
        table.update()
        .where(*(table.c[k] == sa.bindparam(f"_key_{k}") for k in keys))
        .values({c: sa.bindparam(c) for c in columns}),
        [{**{f"_key_{k}": r[k] for k in keys}, **{c: r[c] for c in columns}} for r in rows],
    )


def lock_key(symbol: str) -> int:
    """A signed 64-bit advisory-lock key for a book (stable across processes and versions)."""
    digest = hashlib.blake2b(f"flopex:book:{symbol}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class BookLocks:
    """Holds, for the life of a service instance, a PostgreSQL session advisory lock per book.

    The database enforces it: a second instance asking for a book another instance holds is refused,
    and a crashed holder's locks vanish with its connection. SQLite has no such locks; an SQLite
    database is served by one process (it is the embedded, single-node deployment).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._connection = engine.connect() if engine.dialect.name == "postgresql" else None
        if self._connection is not None:
            self._connection.detach()  # never back into the pool: closing it must end the session
        self._held: set[str] = set()

    def acquire_shared(self, name: str) -> None:
        """Share the lock ``name`` with other holders that share it (shards share the writer lock,
        which the single writer takes alone); :class:`BookUnavailableError` while one holds it alone."""
        if self._connection is None or name in self._held:
            return
        query = sa.text("SELECT pg_try_advisory_lock_shared(:k)")
        taken = self._connection.execute(query, {"k": lock_key(name)}).scalar_one()
        self._connection.commit()
        if not taken:
            raise BookUnavailableError("a single writer (flopex serve without --products) holds every book")
        self._held.add(name)

    def acquire(self, symbols: Iterable[str]) -> None:
        """Lock every book in ``symbols``; raises :class:`BookUnavailableError` naming any held elsewhere.
        All or nothing: when one is refused, those this call took are freed again, so a failed
        adoption, rebuild or listing leaves no book locked that this process does not serve."""
        if self._connection is None:
            return
        refused, taken = [], []
        for symbol in symbols:
            if symbol in self._held or symbol in taken:
                continue
            query = sa.text("SELECT pg_try_advisory_lock(:k)")
            if self._connection.execute(query, {"k": lock_key(symbol)}).scalar_one():
                taken.append(symbol)
            else:
                refused.append(symbol)
        if refused:
            for symbol in taken:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(symbol)})
        else:
            self._held.update(taken)
        self._connection.commit()
        if refused:
            held = ", ".join(sorted(refused))
            raise BookUnavailableError(f"books held by another service instance: {held}")

    def release_one(self, name: str) -> None:
        """Drop the lock ``name`` alone (a takeover that failed after taking it)."""
        if self._connection is not None and name in self._held:
            self._connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(name)})
            self._connection.commit()
        self._held.discard(name)

    def release(self) -> None:
        """Drop every lock before returning.

        Closing the connection alone would release them only once the server's backend has noticed
        the disconnect, which races a caller (or another instance) that takes the books straight
        after; ``pg_advisory_unlock_all`` releases them synchronously first.
        """
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                self._connection.commit()
            finally:
                self._connection.close()
            self._connection = None
        self._held.clear()
