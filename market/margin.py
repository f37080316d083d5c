"""Initial margin: what an open position must hold, and keeping positions at that level as trades
change them (:func:`book_trade`).

Method (documented in docs/market.md): the margin per lot of an instrument is the clearing house's
portfolio scan of a one-lot book (:func:`market.clearing.portfolio.lot_margin`) at the product's margin
volatility -- the worse of long and short, for cash-settled forwards and for options alike (options
are futures-style, :mod:`market.contracts`: a long option can lose its mark value, a writer owes
no premium up front, each side's loss is settled by variation margin). Physical forwards and notes
(paid in full) hold no margin. The amounts per lot live on the instrument
(``margin_per_lot``), are refreshed from the marks, and are what orders hold before a trade; the
re-margining pass then replaces them by each account's portfolio scan.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from market.instruments import Instrument
from market.ledger import AVAILABLE, MARGIN, Ledger

if TYPE_CHECKING:
    from market.store import UnitOfWork

Z99 = 2.3263478740408408  # standard normal 99% quantile
HORIZON_YEARS = 2 / 365
FLOOR = 0.05


def required(instrument: Instrument, qty: int) -> int:
    """Micro-dollars a position of ``qty`` lots (long positive) must hold."""
    if instrument.pays_premium:
        return 0
    return abs(qty) * instrument.margin_per_lot


def rebalance(ledger: Ledger, instrument: Instrument, position: dict) -> None:
    """Move cash between the account's available and margin buckets to hold what the position needs.

    Orders hold the margin of their lots while they rest, and a fill releases that hold first, so
    the available cash covers the increase; if marks rose in between, the position keeps what it can.
    """
    account = position["account_id"]
    delta = required(instrument, position["qty"]) - position["margin_micros"]
    if delta > 0:
        delta = min(delta, ledger.balance(account, AVAILABLE))
    ledger.move((account, AVAILABLE), (account, MARGIN), delta)
    position["margin_micros"] += delta


def forward_margin_micros(forward_micros: float, vol: float, gpu_hours: int) -> int:
    """The one-lot scan of a cash-settled forward in closed form, ``F x max(e^L - 1, 5%)`` with
    ``L = z99 vol sqrt(2/365)`` (the scan's full move, exact while its 35%-weighted double move is
    smaller, i.e. ``L`` below about 0.7), for callers without a database (the stress lab)."""
    move = max(math.expm1(Z99 * vol * math.sqrt(HORIZON_YEARS)), FLOOR)
    return math.ceil(forward_micros * move * gpu_hours)


def book_trade(uow: UnitOfWork, inst: Instrument, trade: dict) -> None:
    """Record a trade in ``inst`` (a matched one, or a forward that an exercised option creates):
    the buyer's position grows by its quantity and cost, the seller's shrinks, both re-hold margin,
    and the trade row is written. ``trade`` holds the trade row's fields but the symbol and time."""
    qty, notional = trade["qty"], trade["notional_micros"]
    long, short = (
        uow.position(trade["buyer_id"], inst.symbol),
        uow.position(trade["seller_id"], inst.symbol),
    )
    long["qty"] += qty
    long["cost_micros"] += notional
    short["qty"] -= qty
    short["cost_micros"] -= notional
    rebalance(uow.ledger, inst, long)
    rebalance(uow.ledger, inst, short)
    row = {"symbol": inst.symbol, "resale": False, **trade, "released": False, "created_us": uow.now_us}
    uow.trades.append(row)
