"""Numerical settings of a pricing request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Method = Literal["auto", "analytic", "mc", "quantlib"]


@dataclass(frozen=True)
class MonteCarloSettings:
    """How a Monte Carlo or LSM valuation samples paths.

    ``steps_per_year`` of None simulates only on the dates the payoff needs (exact schemes need no
    intermediate steps); otherwise the grid is refined so no step exceeds 1/steps_per_year.
    """

    paths: int = 100_000
    seed: int = 0
    antithetic: bool = True
    control_variate: bool = True
    sampler: Literal["sobol", "pseudo"] = "sobol"
    steps_per_year: int | None = None
