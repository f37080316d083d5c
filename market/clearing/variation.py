"""Variation margin: every cash-settled forward and every (futures-style) option position is settled
to its mark at each pass.

A position's profit to date is ``qty x price x GPU-hours - cost`` (``cost`` the signed sum of its
trade notionals; ``price`` the mark per GPU-hour: the window forward for a forward, the option's value
for an option); what it has already received is ``variation_micros``. Each pass pays the difference
between the exchange's ``settlement`` bucket and the account (a gain is paid into ``available``; a loss
is taken from ``available``, then from the account's ``margin``), one ledger transfer per position, and
adds it to ``variation_micros``. Settlement at the end then pays only what is left (``qty x payoff x
GPU-hours - cost - variation``, the payoff being the index average for a cash forward, the option's
payoff at its exercise or settlement price for an option), so over a position's life it receives
exactly ``qty x payoff x GPU-hours - cost``, whatever the marks were; what an account cannot pay is a
shortfall for the default waterfall.

Options are margined futures-style (``Instrument.futures_style``): no premium moves at the trade, the
price is the position's cost, and the variation above settles the option's value day by day, as
Eurex and CME do for options on futures (docs/clearing.md has the reasons and a worked example).
"""

from __future__ import annotations

from market.clearing.valuation import Mark
from market.instruments import Instrument
from market.ledger import AVAILABLE, MARGIN, SETTLEMENT, SYSTEM
from market.store import UnitOfWork


def settles(inst: Instrument) -> bool:
    """Whether positions in ``inst`` are settled to their mark: cash forwards and options."""
    return (inst.is_forward and not inst.is_physical) or inst.futures_style


def mark_price(inst: Instrument, mark: Mark) -> int:
    """The price per GPU-hour a position in ``inst`` is settled to: the forward or the option's value."""
    return mark.forward_micros if inst.is_forward else mark.value_micros


def settle_to_mark(
    uow: UnitOfWork, inst: Instrument, positions: list[dict], price_micros: int
) -> dict[str, int]:
    """Pay variation margin on ``positions`` of ``inst`` (a cash forward or an option) at
    ``price_micros`` per GPU-hour; returns ``{account: shortfall}`` for losses the account could not
    pay."""
    hours = inst.gpu_hours
    short: dict[str, int] = {}
    for position in positions:
        due = position["qty"] * price_micros * hours - position["cost_micros"] - position["variation_micros"]
        if due == 0:
            continue
        account = position["account_id"]
        if due > 0:
            uow.ledger.move((SYSTEM, SETTLEMENT), (account, AVAILABLE), due)
        else:
            owed = -due
            from_cash = min(owed, uow.ledger.balance(account, AVAILABLE))
            uow.ledger.move((account, AVAILABLE), (SYSTEM, SETTLEMENT), from_cash)
            from_margin = min(owed - from_cash, uow.ledger.balance(account, MARGIN))
            uow.ledger.move((account, MARGIN), (SYSTEM, SETTLEMENT), from_margin)
            if owed > from_cash + from_margin:
                short[account] = short.get(account, 0) + owed - from_cash - from_margin
        position["variation_micros"] += due
        uow.ledger.post("variation", account_id=account, ref=inst.symbol)
    return short
