"""The outcome of a Monte Carlo or LSM valuation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MCResult:
    """An estimate with its standard error.

    ``paths`` counts every simulated path (an antithetic pair counts twice; for LSM, regression and
    valuation paths together); ``method`` is "mc" or "lsm".
    """

    value: float
    std_error: float
    paths: int
    method: str
