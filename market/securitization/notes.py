"""Pool notes as instruments: their conventions, their issue and their face as it amortises.

Conventions (docs/securitization.md):

- a note is an instrument of kind ``note``, settlement ``cash`` (nothing is delivered), symbol
  ``CODE-TRANCHE`` (``GPUABS1-A``), window the pool's term;
- its price is per 100 of the face of a lot *now* (the market convention for amortising notes), in
  ticks of 0.01 (``tick_micros`` 10,000: millionths of a point); a lot's face starts at the pool's
  ``lot_face_micros`` (USD 1,000 by default) and falls as principal is paid, always in whole cents,
  so ``multiplier = tick_micros x face / 10^8`` is a whole number of micro-dollars per tick;
- a buyer pays the notional to the seller at the trade, like an option premium; a seller must hold
  the lots it offers (no short sales); no margin, no index mark (the book is the price);
- trading stops at the legal final maturity, :data:`GRACE` after the last period, or when the last
  period is serviced.

At issue the pool's issuing account sells every lot to the sponsor at par (an ``issue`` trade moving
no cash: the sponsor has paid for the notes with the capacity it pooled) and the sponsor sells them on
the books.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import timedelta

import sqlalchemy as sa

from market.errors import InvalidRequestError
from market.instruments import Instrument, InstrumentKind, Settlement, Status
from market.margin import book_trade
from market.store import UnitOfWork
from market.tables import ISSUE
from market.tables import Instrument as InstrumentTable
from market.trading import Trading

NOTE_TICK_MICROS = 10_000
"""A tick of 0.01 per 100 of face."""
CENT = 10_000
"""Faces per lot, and so every principal payment per lot, are whole cents."""
PAR_TICKS = 100 * 1_000_000 // NOTE_TICK_MICROS
GRACE = timedelta(days=30)
"""Legal final maturity after the last period's end: the notes trade until then at the latest."""
RETIRED = "note_retired"
"""The reason of an order cancelled because its note was retired."""
CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
TRANCHE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")

_instruments = InstrumentTable.__table__


def symbol(code: str, tranche: str) -> str:
    """The note's symbol."""
    return f"{code}-{tranche}"


def check_names(code: str, tranches: list[str]) -> None:
    """Pool codes are 2-12 upper-case letters or digits, tranches 1-8, unique within the pool."""
    if not isinstance(code, str) or not CODE.match(code):
        raise InvalidRequestError("code must be 2-12 upper-case letters or digits", field="code")
    for i, tranche in enumerate(tranches):
        if not isinstance(tranche, str) or not TRANCHE.match(tranche):
            raise InvalidRequestError(
                "a tranche is 1-8 upper-case letters or digits", field=f"notes[{i}].tranche"
            )
        if tranche in tranches[:i]:
            raise InvalidRequestError(f"duplicate tranche {tranche!r}", field=f"notes[{i}].tranche")


def instrument_row(
    code: str, tranche: str, product: str, start_us: int, end_us: int, lot_face_micros: int
) -> dict:
    """The instrument row of a new note (``catalog.list_rows`` lists it)."""
    note = Instrument(
        symbol=symbol(code, tranche),
        product=product,
        kind=InstrumentKind.NOTE.value,
        settlement=Settlement.CASH.value,
        window_kind="term",
        window_start_us=start_us,
        window_end_us=end_us,
        tick_micros=NOTE_TICK_MICROS,
        lot_gpus=1,
        expiry_us=end_us + int(GRACE.total_seconds()) * 1_000_000,
        face_micros=lot_face_micros,
    )
    return asdict(note)


def issue(uow: UnitOfWork, inst: Instrument, issuer_id: str, sponsor_id: str, lots: int) -> None:
    """Put every lot of a new note in the sponsor's hands: an issue trade at par, no cash moving."""
    book_trade(
        uow,
        inst,
        {
            "price_ticks": PAR_TICKS,
            "qty": lots,
            "maker_order_id": ISSUE,
            "taker_order_id": inst.symbol[-32:],
            "buyer_id": sponsor_id,
            "seller_id": issuer_id,
            "taker_side": "buy",
            "notional_micros": lots * inst.face_micros,
            "buyer_fee_micros": 0,
            "seller_fee_micros": 0,
            "escrow_micros": 0,
            "engine_seq": 0,
        },
    )


def set_face(uow: UnitOfWork, trading: Trading, note_symbol: str, face_micros: int) -> None:
    """A lot's face now (after principal), in the database and in the open book's instrument."""
    uow.connection.execute(
        _instruments.update().where(_instruments.c.symbol == note_symbol).values(face_micros=face_micros)
    )
    trading.revise(note_symbol, face_micros=face_micros)


def retire(uow: UnitOfWork, trading: Trading, note_symbol: str) -> int:
    """The last period was paid: cancel the book and settle the note (it trades no more); returns how
    many resting orders were cancelled."""
    cancelled = trading.cancel_book(uow, note_symbol, RETIRED)
    uow.connection.execute(
        _instruments.update().where(_instruments.c.symbol == note_symbol).values(status=Status.SETTLED.value)
    )
    trading.revise(note_symbol, status=Status.SETTLED.value)
    return cancelled


def current(uow: UnitOfWork, trading: Trading, note_symbol: str) -> Instrument:
    """The note as its row says now, read ``FOR SHARE`` on PostgreSQL, and the book's instrument
    revised to it (a shard's, before an order on the note). Beside shards the elected process
    services pools and writes a note's new face and retirement to its row in the servicing's own
    transaction; the shard holding the book hears of it later (an instruction). Reading the row here
    makes an order trade at the face the holders were just paid down to, and wait while a servicing
    of the note is in flight (it locks the rows first), so no trade falls between the two."""
    query = sa.select(_instruments.c.face_micros, _instruments.c.status).where(
        _instruments.c.symbol == note_symbol
    )
    if uow.connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = uow.connection.execute(query).one()
    inst = trading.instruments[note_symbol]
    if (row.face_micros, row.status) != (inst.face_micros, inst.status):
        inst = trading.revise(note_symbol, face_micros=row.face_micros, status=row.status)
    return inst


def lock(uow: UnitOfWork, symbols: list[str]) -> None:
    """Lock the notes' rows (``FOR UPDATE`` on PostgreSQL) before a servicing moves any cash: an
    order on a note reads its row first too (:func:`current`), so the two take locks in one order."""
    if symbols and uow.connection.dialect.name == "postgresql":
        query = sa.select(_instruments.c.symbol).where(_instruments.c.symbol.in_(sorted(symbols)))
        uow.connection.execute(query.order_by(_instruments.c.symbol).with_for_update())


def write(uow: UnitOfWork, note_symbol: str, face_micros: int, retired: bool) -> None:
    """The note's new face (and its retirement) in its row only: the shard holding its book applies
    them there from an instruction (:mod:`market.clearing.outbox`)."""
    values: dict[str, object] = {"face_micros": face_micros}
    if retired:
        values["status"] = Status.SETTLED.value
    uow.connection.execute(_instruments.update().where(_instruments.c.symbol == note_symbol).values(**values))
