"""Variation margin: every cash-settled forward position is settled to its mark at each pass.

A position's profit to date is ``qty x mark x GPU-hours - cost`` (``cost`` the signed sum of its
trade notionals); what it has already received is ``variation_micros``. Each pass pays the difference
between the exchange's ``settlement`` bucket and the account (a gain is paid into ``available``; a loss
is taken from ``available``, then from the account's ``margin``), one ledger transfer per position, and
adds it to ``variation_micros``. Cash settlement at the window's end then pays only what is left
(``qty x index average x GPU-hours - cost - variation``), so the total is unchanged; what an account
cannot pay is a shortfall for the default waterfall.

Options are premium-paid: their buyer paid the premium in full and their writer holds the premium at
the mark plus the forward's move as initial margin, re-marked at every pass (the portfolio margin's
net option value), so no option cash moves before exercise or settlement.
"""

from __future__ import annotations

from market.ledger import AVAILABLE, MARGIN, SETTLEMENT, SYSTEM
from market.store import UnitOfWork
from market.trading import multiplier


def gpu_hours(inst: dict) -> int:
    """GPU-hours per lot of an instrument."""
    return multiplier(inst) // inst["tick_micros"]


def settle_to_mark(uow: UnitOfWork, inst: dict, positions: list[dict], mark_micros: int) -> dict[str, int]:
    """Pay variation margin on ``positions`` of the cash forward ``inst`` at ``mark_micros`` per
    GPU-hour; returns ``{account: shortfall}`` for losses the account could not pay."""
    hours = gpu_hours(inst)
    short: dict[str, int] = {}
    for position in positions:
        due = position["qty"] * mark_micros * hours - position["cost_micros"] - position["variation_micros"]
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
        uow.ledger.post("variation", account_id=account, ref=inst["symbol"])
    return short
