"""Account statements: one line per business event with a running balance.

A ledger transfer is one business event (a deposit, an order's fills with their fees, a settlement, a
delivery day paid or refunded, a margin call's variation); the statement shows each transfer that
changed the account's cash (``available + reserved + margin + collateral``) by its net amount, so the
holds and releases an order moves between the account's own buckets -- which change nothing it owns
-- leave no line. The running balance starts from the cash the account had before the period.

A line names the instrument it concerns (``symbol``): the order's for an order's fills, fees, cancel
or amend, the delivery's for a delivery day, the instrument a settlement, exercise or variation
refers to. ``qty`` is the lots the account traded in that line, signed (bought positive): the fills
of the order the line refers to in which the account took part, at that line's instant; None where
nothing traded (a deposit, a cancel, a settlement).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.accounts import account
from market.errors import InvalidRequestError
from market.records import Statement, StatementLine
from market.tables import Delivery, Entry, Instrument, Order, Trade, Transfer
from market.units import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House

MAX_LINES = 10_000
_entries, _transfers = Entry.__table__, Transfer.__table__
_orders, _trades, _deliveries = Order.__table__, Trade.__table__, Delivery.__table__
_instruments = Instrument.__table__
ORDER_EVENTS = ("order", "amend", "cancel")  # transfers whose ref is an order id


def statement(
    house: House,
    account_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> Statement:
    """The account's events with ``start <= at < end`` (either open), oldest first, at most ``limit``
    (``more`` says whether the period holds more: ask again from the last line's instant)."""
    if type(limit) is not int or not 0 < limit <= MAX_LINES:
        raise InvalidRequestError(f"limit must be 1-{MAX_LINES}", field="limit")
    if start is not None and end is not None and end <= start:
        raise InvalidRequestError("end must be after start", field="end")
    account(house, account_id)
    amount = sa.func.sum(_entries.c.amount)
    mine = (
        sa.select(
            _transfers.c.id,
            _transfers.c.created_us,
            _transfers.c.kind,
            _transfers.c.ref,
            amount.label("amount"),
        )
        .join(_entries, _entries.c.transfer_id == _transfers.c.id)
        .where(_entries.c.owner == account_id)
        .group_by(_transfers.c.id, _transfers.c.created_us, _transfers.c.kind, _transfers.c.ref)
        .having(amount != 0)
        .order_by(_transfers.c.id)
    )
    before = (
        sa.select(sa.func.coalesce(sa.func.sum(_entries.c.amount), 0))
        .join(_transfers, _transfers.c.id == _entries.c.transfer_id)
        .where(_entries.c.owner == account_id)
    )
    if start is not None:
        mine = mine.where(_transfers.c.created_us >= to_epoch_us(start))
        before = before.where(_transfers.c.created_us < to_epoch_us(start))
    else:
        before = before.where(sa.false())
    if end is not None:
        mine = mine.where(_transfers.c.created_us < to_epoch_us(end))
    with house.read() as connection:
        opening = int(connection.execute(before).scalar_one())
        rows = connection.execute(mine.limit(limit + 1)).all()
        details = _details(connection, account_id, rows[:limit])
    balance, lines = opening, []
    for row in rows[:limit]:
        balance += int(row.amount)
        symbol, qty = details.get(row.id, (None, None))
        at = from_epoch_us(row.created_us)
        lines.append(StatementLine(row.id, at, row.kind, row.ref, int(row.amount), balance, symbol, qty))
    return Statement(account_id, start, end, opening, balance, tuple(lines), len(rows) > limit)


def _details(connection: sa.Connection, account_id: str, rows: list) -> dict[int, tuple[str, int | None]]:
    """``{transfer id: (symbol, signed lots or None)}`` for the lines that concern an instrument (see
    the module docstring)."""
    order_ids = {r.ref for r in rows if r.kind in ORDER_EVENTS and r.ref}
    delivery_of = {r.id: _delivery_id(r) for r in rows}
    delivery_ids = {d for d in delivery_of.values() if d is not None}
    symbols = {r.ref for r in rows if r.ref} - order_ids
    order_symbol = dict(
        connection.execute(sa.select(_orders.c.id, _orders.c.symbol).where(_orders.c.id.in_(order_ids))).all()
    )
    delivery_symbol = dict(
        connection.execute(
            sa.select(_deliveries.c.id, _deliveries.c.symbol).where(_deliveries.c.id.in_(delivery_ids))
        ).all()
    )
    known = set(
        connection.execute(
            sa.select(_instruments.c.symbol).where(_instruments.c.symbol.in_(symbols))
        ).scalars()
    )
    traded: dict[tuple[str, int], int] = {}
    for fill in connection.execute(
        sa.select(_trades.c.taker_order_id, _trades.c.created_us, _trades.c.buyer_id, _trades.c.qty).where(
            _trades.c.taker_order_id.in_(order_ids),
            sa.or_(_trades.c.buyer_id == account_id, _trades.c.seller_id == account_id),
        )
    ):
        key = (fill.taker_order_id, fill.created_us)
        traded[key] = traded.get(key, 0) + (fill.qty if fill.buyer_id == account_id else -fill.qty)
    out: dict[int, tuple[str, int | None]] = {}
    for row in rows:
        if row.ref in order_symbol and row.kind in ORDER_EVENTS:
            out[row.id] = (order_symbol[row.ref], traded.get((row.ref, row.created_us)))
        elif delivery_of[row.id] in delivery_symbol:
            out[row.id] = (delivery_symbol[delivery_of[row.id]], None)
        elif row.ref in known:
            out[row.id] = (row.ref, None)
    return out


def _delivery_id(row: sa.Row) -> int | None:
    """The delivery a ``delivery_<status>`` line's ref (``delivery-<id>``) names."""
    number = (row.ref or "").removeprefix("delivery-")
    return int(number) if row.kind.startswith("delivery_") and number.isdigit() else None


def to_csv(statement: Statement) -> str:
    """The statement as CSV (RFC 4180): a header, then one event per line, amounts in USD."""
    import csv
    import io

    from market.units import micros_to_dollars

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "at", "kind", "ref", "symbol", "qty", "amount", "balance"])
    writer.writerow(["", "", "opening_balance", "", "", "", "", micros_to_dollars(statement.opening_micros)])
    for line in statement.lines:
        writer.writerow(
            [
                line.id,
                line.at.isoformat(),
                line.kind,
                line.ref or "",
                line.symbol or "",
                "" if line.qty is None else line.qty,
                micros_to_dollars(line.amount_micros),
                micros_to_dollars(line.balance_micros),
            ]
        )
    return out.getvalue()
