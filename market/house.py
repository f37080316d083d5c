"""The house every use case works in: one database, one clock, the order books and their writer lock.

The use-case modules (the rooms: :mod:`market.accounts`, :mod:`market.cash`, :mod:`market.catalog`,
:mod:`market.capacity`, :mod:`market.orders`, :mod:`market.queries`, :mod:`market.index`,
:mod:`market.marks`, :mod:`market.settlement`) are functions of a :class:`House`; the facade
:class:`market.service.Exchange` owns one and hands it to them.

Write use cases that touch the books run in :meth:`House.transaction`: under one lock (the engine has
one writer) they apply their commands to the engine, write the command log and every consequence in
ONE transaction, and return only after the commit. If anything fails after the engine moved, the books
are rebuilt from the database -- the same path as a restart -- so memory never runs ahead of what is
durable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from market.errors import BookElsewhereError, BookUnavailableError, InvalidRequestError, MarketError
from market.ledger import SYSTEM, bucket_rows
from market.recovery import rebuild
from market.sharing.shards import claim, product_lock, product_of
from market.store import BookLocks, UnitOfWork, insert_ignore, write_transaction
from market.tables import Balance, Instrument
from market.trading import Trading
from market.units import from_epoch_us, to_epoch_us

MAX_PAGE = 1000

WRITER_LOCK = "*writer*"
"""The name of the exchange's writer lock among the books' locks (no symbol can be spelled so)."""


def utc_now() -> datetime:
    """The wall clock in UTC (the default clock of the service)."""
    return datetime.now(UTC)


def page_limit(limit: int) -> int:
    """``limit`` if it is a valid page size (1 to :data:`MAX_PAGE`), else ``invalid_request``."""
    if type(limit) is not int or not 0 < limit <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return limit


class House:
    """The shared state of the market's use cases over one database.

    Cheap to create; serves the account, cash and read-only use cases at once. :meth:`start` rebuilds
    the order books from the database, verifies them and takes the books' writer locks -- needed
    (once) before anything that touches a book. ``products`` makes it a shard holding the books of
    those products only (PostgreSQL; see :mod:`market.partitions`); None holds every book.
    """

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], datetime] = utc_now,
        max_open_orders: int | None = None,
        products: frozenset[str] | None = None,
    ) -> None:
        self.db = engine
        self.clock = clock
        self.max_open_orders = max_open_orders
        self.products = products
        self.lock = threading.RLock()
        self.trading: Trading | None = None
        self.locks: BookLocks | None = None
        self._last_us = 0

    def start(self) -> None:
        """Take the exchange's writer lock, then rebuild every book from the command log, check it
        against the stored orders and lock it.

        The writer lock comes first so that a process waiting to take over (``flopex serve
        --standby``) never holds a book the writer is about to lock (a book it lists a moment
        later); it raises :class:`BookUnavailableError` naming the books while another instance
        holds it."""
        with self.lock:
            with self.db.begin() as connection:
                insert_ignore(connection, Balance.__table__, bucket_rows(SYSTEM))
                symbols = connection.execute(sa.select(Instrument.__table__.c.symbol)).scalars().all()
            if self.locks is None:
                self.locks = BookLocks(self.db)
            if self.products is not None:
                self._start_shard()
                return
            try:
                self.locks.acquire([WRITER_LOCK])
            except BookUnavailableError:
                named = ", ".join(sorted(symbols)) or "none yet"
                raise BookUnavailableError(f"books held by another service instance: {named}") from None
            self.rebuild()

    def _start_shard(self) -> None:
        """Share the writer lock (so no single writer runs beside the shards), take each product's
        shard lock, split the products off into partitions of their own, and rebuild their books."""
        assert self.locks is not None
        assert self.products is not None
        try:
            self.locks.acquire_shared(WRITER_LOCK)
            self.locks.acquire(product_lock(p) for p in sorted(self.products))
            with write_transaction(self.db) as connection:
                for product in sorted(self.products):
                    claim(connection, product, self.now_us())
        except BaseException:
            self.locks.release()
            self.locks = None
            raise
        self.rebuild()

    def elect(self) -> bool:
        """Whether this house runs the account-wide clearing pass: always for a single writer (it
        holds every book); for a shard, whether it holds (or now takes) the clearing lock on its
        book-lock session (:mod:`market.clearing.outbox`), which its death frees for another shard."""
        from market.clearing.outbox import CLEARING_LOCK  # the clearing package imports the house

        with self.lock:
            if self.products is None:
                return True
            if self.locks is None:
                return False
            try:
                self.locks.acquire([CLEARING_LOCK])
            except BookUnavailableError:
                return False
            return True

    def holds(self, product: str) -> bool:
        """Whether this house holds (or, started, would hold) the books of ``product``."""
        return self.products is None or product in self.products

    def adopt(self, product: str) -> None:
        """Take over the books of ``product`` as well (a shard whose holder died): its shard lock,
        then a rebuild of every held book. :class:`BookUnavailableError` while another holds it."""
        with self.lock:
            if self.products is None or product in self.products or self.locks is None:
                return
            self.locks.acquire([product_lock(product)])
            held = self.products
            try:
                with write_transaction(self.db) as connection:
                    claim(connection, product, self.now_us())
                self.products = held | {product}
                self.rebuild()
            except BaseException:  # give the product back for another process to take
                self.products = held
                self.locks.release_one(product_lock(product))
                raise

    def release(self, product: str, announce: Callable[[], None]) -> None:
        """Hand the books of ``product`` over (a planned move, :mod:`api.controllers.shards`): stop
        serving them (an order waiting for the house lock finds them gone, ``book_elsewhere``), let
        ``announce`` say so (the registry must stop naming this process before the locks go, or
        another shard's failover would take them), then free their locks for the target to adopt.
        Everything acknowledged on them committed before, so the target's replay of their partition
        has it. :class:`BookElsewhereError` when this house does not hold them."""
        with self.lock:
            if self.products is None or product not in self.products or self.locks is None:
                raise BookElsewhereError(f"this process does not hold the books of {product}", product)
            held = self.products
            symbols = [s for s, i in self.books().instruments.items() if i.product == product]
            self.products = held - {product}
            try:
                self.rebuild()
                announce()
            except BaseException:  # nothing was let go: keep serving them
                self.products = held
                self.rebuild()
                raise
            for name in (*symbols, product_lock(product)):
                self.locks.release_one(name)

    @property
    def started(self) -> bool:
        """Whether this house holds the books (after :meth:`start`, before :meth:`close`)."""
        return self.trading is not None

    def close(self) -> None:
        """Release the books' locks; the house serves no book afterwards."""
        with self.lock:
            if self.locks is not None:
                self.locks.release()
                self.locks = None
            self.trading = None

    def rebuild(self) -> None:
        """Rebuild the books from the database (and lock any new ones)."""
        trading = rebuild(self.db, self.products)
        trading.max_open_orders = self.max_open_orders
        if self.products is not None:
            from market.securitization.notes import current  # notes import the trading module

            trading.elsewhere = self._elsewhere
            trading.note_now = current
        if self.locks is not None:
            self.locks.acquire(trading.instruments)
        self.trading = trading

    def _elsewhere(self, symbol: str) -> str | None:
        """The product of ``symbol`` when another process holds its book (None: unknown or ours)."""
        with self.db.connect() as connection:
            product = product_of(connection, symbol)
        return None if product is None or self.holds(product) else product

    def books(self) -> Trading:
        """The open books; ``book_unavailable`` before :meth:`start`."""
        if self.trading is None:
            raise BookUnavailableError("the books are not open: call Exchange.start() first")
        return self.trading

    def now(self) -> datetime:
        """The exchange clock's current instant (UTC), never going backwards within this house."""
        return from_epoch_us(self.now_us())

    def now_us(self) -> int:
        """Microseconds since the epoch, never going backwards within this house."""
        now = to_epoch_us(self.clock())
        self._last_us = max(self._last_us, now)
        return self._last_us

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """One transaction for book-touching use cases; rebuilds the books if it fails after they moved."""
        with self.lock:
            trading = self.books()
            uow: UnitOfWork | None = None
            try:
                with write_transaction(self.db) as connection:
                    uow = UnitOfWork(connection, self.now_us())
                    trading.advance(uow)
                    yield uow
                    uow.flush()
            except BaseException as exc:
                # a refusal raised before anything moved leaves memory as it was; anything else may not
                if uow is not None and (uow.applied or not isinstance(exc, MarketError)):
                    self.rebuild()
                raise

    def read(self) -> sa.Connection:
        """A connection for reads."""
        return self.db.connect()
