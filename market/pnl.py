"""Profit and loss of positions, by the average-cost method, in micro-dollars.

Walking an account's trades in an instrument in order: a trade that grows the position (or opens
it) adds its notional to the open cost; one that shrinks it realises ``proceeds - average cost x
lots closed`` (a sell; the mirror for a buy closing a short) and takes the average cost off the open
cost; one that crosses zero does both. ``average_price`` is the open cost per GPU-hour; the mark is
the product model's fair value for forwards, else the last trade; unrealised P&L is the open
position at the mark less its open cost. A settled contract realises its open position at what it
paid: a cash-settled forward at the settlement price, an option at its payoff (an Asian one on the
index average, a European one at its exercise price; options are futures-style, and the exercise
opens the underlying forward at that price, :mod:`market.contracts`). Fees its trades cost the
account are realised (``fees`` shows them apart), so over an account's positions realised plus
unrealised P&L is the change of its cash plus the value at the mark of what it holds -- for a
margined position (cash forward, option) the part of that value not yet paid as variation, less
the fees still due (see the reconciliation test in ``tests/api/test_physical_delivery.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from market.errors import NoMarkError
from market.instruments import Instrument
from market.marks import fair_value_micros
from market.records import PositionPnl
from market.tables import Instrument as InstrumentTable
from market.tables import Trade

_trades, _instruments = Trade.__table__, InstrumentTable.__table__


def walk(trades: list[tuple[int, int]]) -> tuple[int, int, int]:
    """``(qty, open_cost, realised)`` after signed trades ``(lots, notional)`` (buys positive; the
    open cost carries the position's sign)."""
    qty = cost = realised = 0
    for lots, notional in trades:
        if qty == 0 or (qty > 0) == (lots > 0):
            qty, cost = qty + lots, cost + notional
            continue
        closed = min(abs(lots), abs(qty))
        average = cost * closed // abs(qty)  # the open cost of the lots closed
        paid = notional * closed // abs(lots)  # what those lots traded at (received: negative)
        realised += -paid - average
        qty, cost = qty - (closed if qty > 0 else -closed), cost - average
        if abs(lots) > closed:  # crossed zero: the rest opens the other way
            qty, cost = lots + (closed if lots < 0 else -closed), notional - paid
    return qty, cost, realised


def position_pnl(connection: sa.Connection, account_id: str, inst: Instrument, now_us: int) -> PositionPnl:
    """The P&L of ``account_id``'s position in ``inst`` (see the module docstring)."""
    rows = connection.execute(
        sa.select(
            _trades.c.buyer_id,
            _trades.c.qty,
            _trades.c.notional_micros,
            _trades.c.buyer_fee_micros,
            _trades.c.seller_fee_micros,
        )
        .where(
            _trades.c.symbol == inst.symbol,
            sa.or_(_trades.c.buyer_id == account_id, _trades.c.seller_id == account_id),
        )
        .order_by(_trades.c.id)
    ).all()
    signed = [
        (t.qty, t.notional_micros) if t.buyer_id == account_id else (-t.qty, -t.notional_micros) for t in rows
    ]
    qty, cost, realised = walk(signed)
    fees = sum(t.buyer_fee_micros if t.buyer_id == account_id else t.seller_fee_micros for t in rows)
    gpu_hours = inst.gpu_hours  # GPU-hours per lot
    average = None if not qty else abs(cost) // (abs(qty) * gpu_hours)
    mark, unrealised = None, 0
    if inst.status == "settled" and inst.settlement == "cash":
        realised += qty * inst.payoff(inst.settle_price_micros or 0) * gpu_hours - cost
        qty, cost = 0, 0
    elif inst.status != "settled" and qty:
        mark = _mark(connection, inst, now_us)
        unrealised = 0 if mark is None else qty * mark * gpu_hours - cost
    return PositionPnl(average, mark, realised - fees, unrealised, fees)


def _mark(connection: sa.Connection, inst: Instrument, now_us: int) -> int | None:
    """Micro-dollars per GPU-hour: the model's fair value for a forward, else the last trade."""
    if inst.is_forward:
        try:
            return fair_value_micros(connection, inst, now_us)
        except NoMarkError:
            pass
    last = connection.execute(
        sa.select(_trades.c.price_ticks)
        .where(_trades.c.symbol == inst.symbol)
        .order_by(_trades.c.id.desc())
        .limit(1)
    ).scalar()
    return None if last is None else last * inst.tick_micros
