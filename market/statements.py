"""Account statements: one line per business event with a running balance.

A ledger transfer is one business event (a deposit, an order's fills with their fees, a settlement, a
delivery day paid or refunded, a margin call's variation); the statement shows each transfer that
changed the account's cash (``available + reserved + margin + collateral``) by its net amount, so the
holds and releases an order moves between the account's own buckets -- which change nothing it owns
-- leave no line. The running balance starts from the cash the account had before the period.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.accounts import account
from market.errors import InvalidRequestError
from market.records import Statement, StatementLine
from market.tables import Entry, Transfer
from market.units import from_epoch_us, to_epoch_us

if TYPE_CHECKING:
    from market.house import House

MAX_LINES = 10_000
_entries, _transfers = Entry.__table__, Transfer.__table__


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
    balance, lines = opening, []
    for row in rows[:limit]:
        balance += int(row.amount)
        lines.append(
            StatementLine(row.id, from_epoch_us(row.created_us), row.kind, row.ref, int(row.amount), balance)
        )
    return Statement(account_id, start, end, opening, balance, tuple(lines), len(rows) > limit)


def to_csv(statement: Statement) -> str:
    """The statement as CSV (RFC 4180): a header, then one event per line, amounts in USD."""
    import csv
    import io

    from market.units import micros_to_dollars

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "at", "kind", "ref", "amount", "balance"])
    writer.writerow(["", "", "opening_balance", "", "", micros_to_dollars(statement.opening_micros)])
    for line in statement.lines:
        writer.writerow(
            [
                line.id,
                line.at.isoformat(),
                line.kind,
                line.ref or "",
                micros_to_dollars(line.amount_micros),
                micros_to_dollars(line.balance_micros),
            ]
        )
    return out.getvalue()
