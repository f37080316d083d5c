"""What a contract pays, per lot: the arithmetic every room shares (the trading room holds orders
against it, the clearing house margins and settles it, P&L and the index read it). Per instrument it
lives on :class:`market.instruments.Instrument` (``multiplier``, ``is_physical``, ``pays_premium``,
``futures_style``, ``payoff``); this module keeps what is not one instrument's: the fee rate.

* A **physical forward** is paid in full at the trade (the notional goes to escrow), and a **pool
  note** or a **basket unit** is paid to its seller at the trade: they *pay a premium*.
* A **cash-settled forward** moves no cash at the trade; it is settled to its mark at every
  re-margining pass (variation margin) and finally against the index.
* An **option** (European on a cash forward, or Asian on the index average; every option listed is
  cash-settled) is **futures-style**, like the options on futures of Eurex and CME: no premium at the
  trade, the price is its cost, and its value is settled to the mark at every pass like a cash forward;
  expiry pays the rest of ``payoff - price`` (docs/clearing.md).
"""

from __future__ import annotations


def fee(notional: int, ppm: int) -> int:
    """A fee of ``ppm`` parts per million of ``notional``, rounded down to the micro-dollar."""
    return notional * ppm // 1_000_000
