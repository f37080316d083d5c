"""The clearing pass on a sharded exchange: one elected process clears, each shard acts on its books.

On a single writer the pass liquidates directly (:func:`market.clearing.liquidation.liquidate`): it
holds every book. On shards (``flopex serve --products``) the books are spread over processes, while
a portfolio's margin nets every product. So:

- one shard at a time is **elected** to run the account-wide pass: the one holding the PostgreSQL
  advisory lock :data:`CLEARING_LOCK` (taken on its book-lock session, so it is freed the moment the
  shard's process dies, and the next shard to try takes it);
- the pass reads every product's positions and marks (reads need no book), pays variation margin,
  holds portfolio margin, opens and reviews calls, and for each call past its deadline writes one
  **instruction** per product in which the account has a position or a live order
  (:class:`market.tables.ClearingInstruction`), in the pass's own transaction;
- each shard's duty loop **drains** the instructions for the products it holds (:func:`apply`): in
  one transaction of its own engine it marks the instruction applied (a conditional update, so two
  drainers or a restarted shard never apply it twice), cancels the account's live orders in those
  books and sends this pass's reduce-only slices there, exactly as the single writer's liquidation
  does (band around the mark at execution). If the transaction fails, nothing of it happened and the
  instruction is still pending for the next drain: each instruction is applied exactly once.

The same outbox carries what pool servicing (:mod:`market.securitization.servicing`), run by the
elected process too, must do in a note's book: ``note_face`` (a lot's face after the period's
principal) and ``note_retire`` (the last period paid: the book cancelled, the note settled), applied
by the shard owning the note's product through the same drain, in id order, exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from market.clearing import calls, liquidation
from market.clearing.records import InstructionInfo
from market.clearing.valuation import Mark, mark
from market.instruments import Instrument
from market.securitization import notes
from market.store import UnitOfWork
from market.tables import ClearingInstruction, MarginCall, Order, Position
from market.tables import Instrument as InstrumentTable
from market.trading import Trading
from market.units import from_epoch_us
from market.vocabulary import LIVE

CLEARING_LOCK = "*clearing*"
"""The advisory lock whose holder runs the account-wide clearing pass beside shards (no symbol can be
spelled so)."""

_out = ClearingInstruction.__table__
_calls = MarginCall.__table__
_orders = Order.__table__
_instruments = InstrumentTable.__table__
_positions = Position.__table__


LIQUIDATE = "liquidate"
NOTE_FACE = "note_face"
NOTE_RETIRE = "note_retire"


@dataclass(frozen=True)
class Applied:
    """One instruction a shard executed: its kind, the call and account (a liquidation's), the product,
    the note (a note revision's), what was done."""

    id: int
    call_id: int | None
    account_id: str | None
    product: str
    cancelled: int
    filled: dict[str, int]
    kind: str = LIQUIDATE
    symbol: str | None = None


def every_instrument(connection: sa.Connection, trading: Trading) -> dict[str, Instrument]:
    """Every instrument, as the books hold those this process holds and as stored the others."""
    stored = {r.symbol: Instrument.of(r._mapping) for r in connection.execute(sa.select(_instruments))}
    return {**stored, **trading.instruments}


def products_to_act(
    connection: sa.Connection, account_id: str, positions: list[tuple[Instrument, dict]]
) -> set[str]:
    """The products whose books a liquidation of ``account_id`` must act in: those of its non-zero
    positions and of its live orders."""
    held = {inst.product for inst, p in positions if p["qty"] != 0}
    query = (
        sa.select(_instruments.c.product)
        .join(_orders, _orders.c.symbol == _instruments.c.symbol)
        .where(_orders.c.account_id == account_id, _orders.c.status.in_(LIVE))
        .distinct()
    )
    return held | set(connection.execute(query).scalars())


def queue(uow: UnitOfWork, call_id: int, account_id: str, products: set[str]) -> None:
    """Write one instruction per product for this pass (in the pass's transaction)."""
    rows = [
        {"call_id": call_id, "account_id": account_id, "product": p, "created_us": uow.now_us}
        for p in sorted(products)
    ]
    if rows:
        uow.connection.execute(_out.insert(), rows)


def revise_note(uow: UnitOfWork, product: str, symbol: str, face_micros: int | None) -> None:
    """Ask the shard owning ``product``'s books to set a lot's face of note ``symbol`` to
    ``face_micros`` there, or (None) to retire the note (in the servicing's transaction)."""
    kind = NOTE_RETIRE if face_micros is None else NOTE_FACE
    row = {"kind": kind, "product": product, "symbol": symbol, "face_micros": face_micros}
    uow.connection.execute(_out.insert(), [{**row, "created_us": uow.now_us}])


def pending(connection: sa.Connection, products: frozenset[str] | None) -> list[int]:
    """The ids of the instructions not yet applied in ``products`` (None: every product), oldest first."""
    query = sa.select(_out.c.id).where(_out.c.applied_us.is_(None)).order_by(_out.c.id)
    if products is not None:
        query = query.where(_out.c.product.in_(sorted(products)))
    return list(connection.execute(query).scalars())


def listing(connection: sa.Connection, pending_only: bool, limit: int) -> list[InstructionInfo]:
    """The newest ``limit`` instructions (only those not yet applied with ``pending_only``)."""
    query = sa.select(_out).order_by(_out.c.id.desc()).limit(limit)
    if pending_only:
        query = query.where(_out.c.applied_us.is_(None))
    return [
        InstructionInfo(
            r.id,
            r.kind,
            r.call_id,
            r.account_id,
            r.product,
            from_epoch_us(r.created_us),
            None if r.applied_us is None else from_epoch_us(r.applied_us),
            r.outcome,
            r.symbol,
        )
        for r in connection.execute(query)
    ]


def apply(
    uow: UnitOfWork, trading: Trading, instruction_id: int, products: frozenset[str] | None = None
) -> Applied | None:
    """Execute one instruction in the caller's transaction; None if it was applied already, or if
    its product is not in ``products`` (the products whose books the caller holds now; None: every
    product). A drainer's pending list may name a product moved away since it was read: the
    instruction stays pending for its new holder instead of being marked applied with nothing done."""
    query = _out.update().where(_out.c.id == instruction_id, _out.c.applied_us.is_(None))
    if products is not None:
        query = query.where(_out.c.product.in_(sorted(products)))
    taken = uow.connection.execute(query.values(applied_us=uow.now_us, outcome="applying"))
    if taken.rowcount != 1:
        return None
    row = uow.connection.execute(sa.select(_out).where(_out.c.id == instruction_id)).one()
    if row.kind != LIQUIDATE:
        return _note(uow, trading, row)
    status = uow.connection.execute(sa.select(_calls.c.status).where(_calls.c.id == row.call_id)).scalar_one()
    done = Applied(row.id, row.call_id, row.account_id, row.product, 0, {})
    if status != calls.LIQUIDATING:
        _record(uow, instruction_id, f"nothing: the call is {status}")
        return done
    symbols = {s for s, i in trading.instruments.items() if i.product == row.product}
    cancelled = liquidation.cancel_orders(uow, trading, row.account_id, symbols)
    rows = uow.load_positions(
        sa.and_(_positions.c.account_id == row.account_id, _positions.c.symbol.in_(sorted(symbols)))
    )
    positions = [(trading.instruments[p["symbol"]], p) for p in rows]
    marks: dict[str, Mark] = {}
    for inst, _ in positions:
        if (found := mark(uow.connection, inst, uow.now_us)) is not None:
            marks[inst.symbol] = found
    filled = liquidation.send_slices(uow, trading, positions, marks, call=(row.call_id, row.account_id))
    _record(uow, instruction_id, f"cancelled {cancelled} order(s), filled {sum(filled.values())} lot(s)")
    return Applied(row.id, row.call_id, row.account_id, row.product, cancelled, filled)


def _note(uow: UnitOfWork, trading: Trading, row: sa.Row) -> Applied:
    """Revise or retire a note in this shard's book (:mod:`market.securitization.notes`). A face is
    taken from the note's row, which the servicing wrote in its own transaction, not from the
    instruction: with two periods serviced before a drain, the older instruction would otherwise
    write its older face back over the newer one until the next applied."""
    cancelled = 0
    if row.kind == NOTE_FACE:
        face = notes.current(uow, trading, row.symbol).face_micros
        outcome = f"face {face} micro-dollar(s) a lot"
    else:
        cancelled = notes.retire(uow, trading, row.symbol)
        outcome = f"retired, cancelled {cancelled} order(s)"
    _record(uow, row.id, outcome)
    return Applied(row.id, None, None, row.product, cancelled, {}, row.kind, row.symbol)


def _record(uow: UnitOfWork, instruction_id: int, outcome: str) -> None:
    uow.connection.execute(_out.update().where(_out.c.id == instruction_id).values(outcome=outcome[:200]))
