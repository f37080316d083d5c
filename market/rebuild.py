"""The way back for a book refused at recovery: see what differs, then rebuild it when told to.

A book is refused (``recovery_mismatch``) when the replay of the command log does not reproduce the
stored events of its commands, or when the orders resting in the replayed book differ from the
orders the database holds live (see :mod:`market.recovery`). Neither side can simply be taken as
right: the stored rows are what the ledger, positions and holds agree with, the replay is what the
engine would do with the log.

:func:`book_diff` shows the difference without changing anything. :func:`rebuild_book` (what
``flopex admin rebuild-book SYMBOL --yes`` runs) resets the book -- the course an exchange takes
after an incident on a book: every order the database holds live on it is cancelled (reason
``book_rebuilt``, its hold released to the owner by a ledger transfer), the book restarts empty, and
the ``reset`` command written to the log makes every later replay agree. Trades, positions and the
ledger are untouched; the stored events of earlier commands stay as the record of what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.errors import InvalidRequestError, UnknownInstrumentError
from market.house import House
from market.recovery import Divergence, load, resting


@dataclass(frozen=True)
class OrderDifference:
    """An order whose open quantity differs: ``stored`` in the database (None: not live there),
    ``replayed`` in the replayed book (None: not resting there)."""

    order_id: str
    stored: int | None
    replayed: int | None


@dataclass(frozen=True)
class BookDiff:
    """The stored state of one book against the replay of the command log.

    ``diverging`` counts the commands of the book (and clock ticks) whose replayed events differ from
    the stored ones since its last reset; ``divergences`` shows the first of them. ``refused`` is
    whether the book fails its recovery check (any divergence or order difference).
    """

    symbol: str
    refused: bool
    diverging: int
    divergences: tuple[Divergence, ...]
    orders: tuple[OrderDifference, ...]


@dataclass(frozen=True)
class BookRebuilt:
    """What a rebuild did: the orders it cancelled, the replay-only orders it dropped from the book,
    and whether the book opens now (``refused`` false)."""

    symbol: str
    cancelled: tuple[str, ...]
    dropped: tuple[str, ...]
    refused: bool


def book_diff(house: House, symbol: str) -> BookDiff:
    """Replay the command log and compare the book of ``symbol`` with the database (changes nothing).

    Raises ``unknown_instrument`` for a symbol that was never listed.
    """
    with house.read() as connection:
        trading, replay = load(connection, watch=symbol)
    if symbol not in trading.instruments:
        raise UnknownInstrumentError(f"no instrument {symbol!r}", field="symbol")
    stored, rested = resting(trading)[symbol]
    orders = tuple(
        OrderDifference(oid, stored.get(oid), rested.get(oid))
        for oid in sorted(stored.keys() | rested.keys())
        if stored.get(oid) != rested.get(oid)
    )
    bad = symbol in replay.refused()
    return BookDiff(
        symbol=symbol,
        refused=bad or bool(orders),
        diverging=replay.diverging if bad else 0,
        divergences=tuple(replay.divergences) if bad else (),
        orders=orders,
    )


def rebuild_book(house: House, symbol: str) -> BookRebuilt:
    """Reset a refused book: cancel its live orders, empty it, and log the reset so replays agree.

    Needs the books open (:meth:`market.service.Exchange.start`). Raises ``unknown_instrument`` for
    an unknown symbol and ``invalid_request`` when the book passed its recovery check (there is
    nothing to rebuild; cancel orders the ordinary way).
    """
    with house.lock:
        trading = house.books()
        trading.instrument(symbol)
        if symbol not in trading.refused:
            raise InvalidRequestError(
                f"the book {symbol} passed its recovery check: nothing to rebuild", field="symbol"
            )
        cancelled = tuple(sorted(oid for oid, o in trading.live.items() if o["symbol"] == symbol))
        with house.transaction() as uow:
            (event,) = house.books().apply(uow, {"op": "reset", "symbol": symbol})
        house.rebuild()
        return BookRebuilt(
            symbol=symbol,
            cancelled=cancelled,
            dropped=tuple(oid for oid in event["ids"] if oid not in cancelled),
            refused=symbol in house.books().refused,
        )
