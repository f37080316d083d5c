"""The compute basket fund: a unit that holds a fixed strip of forwards, its NAV, creation and redemption.

A basket fund (for example one unit = 2 lots of the H100 front month + 1 of H200 + 1 of B200) is
fully collateralised: each unit holds its strip of cash-settled forwards long and, beside them, cash
equal to the strip's notional when the unit was created. Variation margin keeps settling the strip to
its marks, so the fund's equity (its cash, margin and default-fund contribution) *is* its value and
the **NAV** per unit is that equity divided by the units outstanding, rounded down (a holder is never
paid more than the fund has).

Authorised participants (APs) keep the unit's price on its own book close to NAV:

- **creation** -- in kind: the AP delivers the strip's positions (struck at the marks) and the NAV in
  cash for each unit; in cash: it pays NAV plus a fee and the fund buys the strip itself;
- **redemption** -- in kind: the AP receives each unit's strip and its NAV in cash; in cash: it is
  paid NAV less a fee and the fund must sell the strip in the market.

A discount (units cheaper than NAV) is arbitraged by buying units and redeeming them, a premium by
creating and selling. Cash redemption makes the *fund* a forced seller of the strip: the channel by
which passive outflows become sales in the underlying books (see docs/stress.md).

This module is the exchange's arithmetic for the fund, in integers (micro-dollars, lots, units); it
reads no database and is used both by the stress lab (:mod:`market.lab`) and by the exchange's listed
funds (:mod:`market.baskets`, docs/baskets.md), so the two never disagree on a NAV or a fee.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_FEE_PPM = 100_000
"""Creation and redemption fees are at most 10% of NAV."""


@dataclass(frozen=True)
class Leg:
    """Lots of one forward per unit of the fund."""

    symbol: str
    lots: int


@dataclass(frozen=True)
class BasketSpec:
    """A basket fund: its unit's symbol, its strip, and the cash creation/redemption fee."""

    symbol: str
    legs: tuple[Leg, ...]
    fee_ppm: int = 2_000
    in_kind_fee_ppm: int = 0

    def __post_init__(self) -> None:
        if not self.legs or any(type(leg.lots) is not int or leg.lots <= 0 for leg in self.legs):
            raise ValueError("a basket holds a positive whole number of lots of each leg")
        if len({leg.symbol for leg in self.legs}) != len(self.legs):
            raise ValueError("a basket names each forward once")
        for fee in (self.fee_ppm, self.in_kind_fee_ppm):
            if type(fee) is not int or not 0 <= fee <= MAX_FEE_PPM:
                raise ValueError(f"a fee is 0..{MAX_FEE_PPM} ppm of NAV")

    def strip(self, units: int) -> tuple[Leg, ...]:
        """The lots of each leg that ``units`` units hold."""
        return tuple(Leg(leg.symbol, leg.lots * units) for leg in self.legs)

    def strip_value(self, marks_micros: Mapping[str, int], gpu_hours: Mapping[str, int]) -> int:
        """The notional of one unit's strip at ``marks_micros`` (micro-dollars per GPU-hour)."""
        return sum(leg.lots * marks_micros[leg.symbol] * gpu_hours[leg.symbol] for leg in self.legs)


def nav(equity_micros: int, units: int) -> int:
    """NAV per unit: the fund's equity over its units outstanding, rounded down."""
    if units <= 0:
        raise ValueError("NAV needs units outstanding")
    return max(equity_micros, 0) // units


def fee(amount_micros: int, ppm: int) -> int:
    """A fee of ``ppm`` parts per million of ``amount_micros``, rounded up (the fund never undercharges)."""
    return -(-amount_micros * ppm // 1_000_000)


def creation_cash(units: int, nav_micros: int, fee_ppm: int) -> int:
    """What an AP pays for ``units`` created in cash: NAV plus the fee."""
    gross = units * nav_micros
    return gross + fee(gross, fee_ppm)


def redemption_cash(units: int, nav_micros: int, fee_ppm: int) -> int:
    """What an AP is paid for ``units`` redeemed in cash: NAV less the fee."""
    gross = units * nav_micros
    return gross - fee(gross, fee_ppm)


def premium_bps(price_micros: int, nav_micros: int) -> float:
    """The unit's premium (positive) or discount (negative) to NAV, in basis points."""
    if nav_micros <= 0:
        raise ValueError("premium needs a positive NAV")
    return (price_micros - nav_micros) * 10_000 / nav_micros
