"""Validated contract terms that the pricing methods value.

These are plain, immutable descriptions of payoffs and their fixing schedules. Times are year
fractions (ACT/365F) from the valuation instant t = 0; the request layer resolves the compact
``{"start", "end", "count"}`` form into explicit tuples before building them, so every method sees
strictly increasing, non-negative times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OptionKind = Literal["call", "put"]


@dataclass(frozen=True)
class Forward:
    """Delivery of the spot over ``fixings`` at ``strike``, paid at ``payment``.

    The fair forward price of the window is the mean of F(0, t_i); the value is
    exp(-r T_pay) (forward - strike).
    """

    fixings: tuple[float, ...]
    strike: float
    payment: float


@dataclass(frozen=True)
class SpotUnderlying:
    """A European option written on the spot price S(expiry)."""


@dataclass(frozen=True)
class ForwardUnderlying:
    """A European option written on the forward price F(expiry, maturity)."""

    maturity: float


@dataclass(frozen=True)
class SwapUnderlying:
    """A European option written on the mean of F(expiry, t_i) over a delivery window."""

    fixings: tuple[float, ...]


Underlying = SpotUnderlying | ForwardUnderlying | SwapUnderlying


@dataclass(frozen=True)
class European:
    """A European call or put paid at ``expiry``."""

    kind: OptionKind
    strike: float
    expiry: float
    underlying: Underlying


@dataclass(frozen=True)
class Asian:
    """An average-price option on the spot over ``fixings``, paid at ``payment``."""

    kind: OptionKind
    strike: float
    fixings: tuple[float, ...]
    average: Literal["arithmetic", "geometric"]
    payment: float


@dataclass(frozen=True)
class Cap:
    """A strip of caplets (call) or floorlets (put), one per fixing, each paid at its fixing.

    The value is the mean of the discounted caplets: the premium per GPU-hour covered.
    """

    kind: OptionKind
    strike: float
    fixings: tuple[float, ...]


@dataclass(frozen=True)
class Bermudan:
    """An option on the spot exercisable once, at any of the ``exercise`` times."""

    kind: OptionKind
    strike: float
    exercise: tuple[float, ...]


@dataclass(frozen=True)
class Swing:
    """Between ``min_rights`` and ``max_rights`` exercises, at most one per exercise time.

    Each exercise pays S - K (call) or K - S (put); with ``payoff == "vanilla"`` each exercise is
    floored at zero.
    """

    kind: OptionKind
    strike: float
    exercise: tuple[float, ...]
    min_rights: int
    max_rights: int
    payoff: Literal["forward", "vanilla"]


Instrument = Forward | European | Asian | Cap | Bermudan | Swing
