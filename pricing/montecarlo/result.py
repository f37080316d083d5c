"""The outcome of a Monte Carlo or LSM valuation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MCResult:
    """An estimate with its standard error.

    ``paths`` counts the simulated paths behind the estimate (an antithetic pair counts twice; for
    LSM, regression and valuation paths together; a control-variate pilot is not counted);
    ``method`` is "mc" or "lsm". ``dof`` is the degrees of freedom of ``std_error`` (a 95% interval
    is value +/- t(dof) std_error); ``replicates`` are the equal-weight estimates of the independent
    replicates whose mean is ``value`` (they pair up across bumped revaluations with common random
    numbers).
    """

    value: float
    std_error: float
    paths: int
    method: str
    dof: int
    replicates: tuple[float, ...]
    informative: float
