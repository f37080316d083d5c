"""What a contract pays, per lot: the arithmetic every room shares (the trading room holds orders
against it, the clearing house margins and settles it, P&L and the index read it).

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


def multiplier(instrument: dict) -> int:
    """Micro-dollars per tick per lot: tick x GPUs per lot x hours of the delivery window (a pool
    note: tick, in millionths of a point, x the face of a lot now / 100; exact, see
    :mod:`market.securitization.notes`; a basket unit: the tick, a lot being one unit)."""
    if instrument["kind"] == "note":
        return instrument["tick_micros"] * instrument["face_micros"] // 100_000_000
    if instrument["kind"] == "unit":
        return instrument["tick_micros"]
    hours = (instrument["window_end_us"] - instrument["window_start_us"]) // 3_600_000_000
    return instrument["tick_micros"] * instrument["lot_gpus"] * hours


def fee(notional: int, ppm: int) -> int:
    """A fee of ``ppm`` parts per million of ``notional``, rounded down to the micro-dollar."""
    return notional * ppm // 1_000_000


def is_physical(instrument: dict) -> bool:
    """Whether an instrument is a physical forward (delivered GPU-hours)."""
    return instrument["kind"] == "forward" and instrument["settlement"] == "physical"


def futures_style(instrument: dict) -> bool:
    """Whether an instrument is an option margined futures-style (every option: all are cash-settled)."""
    return instrument["kind"] in ("option", "asian")


def pays_premium(instrument: dict) -> bool:
    """Whether a buyer pays cash at the trade (physical forwards, pool notes and basket units), not
    margin."""
    return instrument["kind"] in ("note", "unit") or is_physical(instrument)


def payoff(instrument: dict, price_micros: int) -> int:
    """What one GPU-hour of a cash forward or an option pays at its settlement (or exercise) price
    ``price_micros``: the price for a forward, the payoff against the strike for an option."""
    if instrument["kind"] == "forward":
        return price_micros
    strike = instrument["strike_ticks"] * instrument["tick_micros"]
    return max(price_micros - strike if instrument["option_kind"] == "call" else strike - price_micros, 0)
