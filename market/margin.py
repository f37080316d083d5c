"""Initial margin: what an open position must hold, and keeping positions at that level.

Method (documented in docs/market.md): the margin per lot of a cash-settled forward is the larger of
the 99% quantile of a two-day loss of the window's forward under the product's lognormal model,
``F x (exp(z99 x vol x sqrt(2/365)) - 1)``, and a floor of 5% of ``F``; times the GPU-hours of a lot.
A written (short) option or Asian option holds its premium at the mark plus the forward's margin
(a short option loses at most what the forward loses, its delta being at most one). Long options
and physical forwards (paid in full) hold no margin. The amounts per lot live on the instrument
(``margin_per_lot``) and are refreshed from the marks by the service.
"""

from __future__ import annotations

import math

from market.ledger import AVAILABLE, MARGIN, Ledger

Z99 = 2.3263478740408408  # standard normal 99% quantile
HORIZON_YEARS = 2 / 365
FLOOR = 0.05


def required(instrument: dict, qty: int) -> int:
    """Micro-dollars a position of ``qty`` lots (long positive) must hold."""
    if instrument["kind"] == "forward":
        return 0 if instrument["settlement"] == "physical" else abs(qty) * instrument["margin_per_lot"]
    return max(0, -qty) * instrument["margin_per_lot"]


def rebalance(ledger: Ledger, instrument: dict, position: dict) -> None:
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
    """Margin per lot of a cash-settled forward marked at ``forward_micros`` per GPU-hour."""
    move = max(math.expm1(Z99 * vol * math.sqrt(HORIZON_YEARS)), FLOOR)
    return math.ceil(forward_micros * move * gpu_hours)


def writer_margin_micros(premium_micros: float, forward_micros: float, vol: float, gpu_hours: int) -> int:
    """Margin per lot of a written option: its premium at the mark plus the forward's margin."""
    return math.ceil(premium_micros * gpu_hours) + forward_margin_micros(forward_micros, vol, gpu_hours)
