"""Profile-likelihood (likelihood-ratio) confidence intervals, and the parameters they show unidentified.

For a parameter theta_i, the profile log-likelihood is the maximum over the other parameters with
theta_i held fixed; the 95% interval is where it stays within chi2(1, 0.95) / 2 = 1.92 of the overall
maximum. Unlike the delta method it needs no curvature at the optimum and is invariant to how the
parameter is written (log scale, artanh), so it stays honest where the quadratic approximation fails:
near a boundary (a volatility going to 0) or on a flat ridge (a quantity the data cannot see).

The search runs in the optimiser's free coordinates (logs of positive parameters, artanh of
correlations): from the estimate it steps outward, doubling, until the profile drops by 1.92, then
finds the crossing by bisection. If it never drops within ``REACH`` free units (a factor e^30
for a positive parameter; for a free one, also at least 2,048 standard errors), that side is open:
the interval runs to the boundary (0 for a positive parameter, +/-1 for a correlation, infinity for
a free one) and the parameter is **flagged**: the data do not bound it there, so its standard error
means nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from pricing.calibration.mle import Parameter

DROP = float(stats.chi2.ppf(0.95, 1) / 2.0)
"""Log-likelihood drop that bounds a 95% likelihood-ratio interval (1.92)."""
REACH = 30.0
"""How far (free units) the search goes before it calls a side unbounded."""
BOUNDARY = {
    "positive": (0.0, float("inf")),
    "correlation": (-1.0, 1.0),
    "free": (-float("inf"), float("inf")),
}


@dataclass(frozen=True)
class Interval:
    """A 95% likelihood-ratio interval; ``open_low``/``open_high`` when the data do not bound that side."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    @property
    def bounded(self) -> bool:
        return not (self.open_low or self.open_high)


def profile_intervals(
    parameters: Sequence[Parameter],
    free_estimate: NDArray[np.float64],
    objective: Callable[[NDArray[np.float64]], float],
    free_errors: NDArray[np.float64],
) -> list[Interval]:
    """The 95% profile interval of each parameter; ``objective`` is the negative log-likelihood in free
    coordinates, minimised at ``free_estimate``; ``free_errors`` (free-scale standard errors, NaN
    allowed) only set the first step of the search."""
    best = objective(free_estimate)
    out = []
    for i, parameter in enumerate(parameters):
        error = float(free_errors[i]) if np.isfinite(free_errors[i]) and free_errors[i] > 0 else 0.05
        step = max(2.0 * error, 1e-3)
        if parameter.constraint == "free":
            reach = max(REACH, 1024.0 * step)
        else:  # a huge free-scale error (a flat ridge at a boundary) must not step past REACH at once
            step, reach = min(step, REACH / 16.0), REACH
        ends, opened = [], []
        for direction in (-1.0, 1.0):
            end, is_open = _side(objective, free_estimate, i, best, direction, step, reach)
            ends.append(end)
            opened.append(is_open)
        low, high = BOUNDARY[parameter.constraint]
        out.append(
            Interval(
                low if opened[0] else parameter.from_free(ends[0]),
                high if opened[1] else parameter.from_free(ends[1]),
                opened[0],
                opened[1],
            )
        )
    return out


def _side(
    objective: Callable[[NDArray[np.float64]], float],
    estimate: NDArray[np.float64],
    i: int,
    best: float,
    direction: float,
    step: float,
    reach: float,
) -> tuple[float, bool]:
    """The free-coordinate end of the interval on one side, and whether that side is open."""
    others = np.delete(estimate, i)
    warm = [others]

    def drop(distance: float) -> float:
        value = estimate[i] + direction * distance
        if others.size == 0:
            return objective(np.array([value])) - best

        def restricted(w: NDArray[np.float64]) -> float:
            return objective(np.insert(w, i, value))

        fitted = optimize.minimize(restricted, warm[-1], method="L-BFGS-B")
        if fitted.fun < restricted(warm[-1]):
            warm.append(fitted.x)
        return min(float(fitted.fun), restricted(others)) - best

    inside = 0.0
    distance = min(step, reach)
    while True:
        if drop(distance) > DROP:
            return estimate[i] + direction * _crossing(drop, inside, distance), False
        if distance >= reach:  # the last step lands on the reach itself, not up to half of it short
            return float("nan"), True
        inside, distance = distance, min(2.0 * distance, reach)


def _crossing(drop: Callable[[float], float], inside: float, outside: float) -> float:
    """Bisection for drop = DROP between a distance known inside and one known outside the interval.

    Bisection rather than Brent's method: each value is a re-optimisation of the other parameters,
    whose warm starts can move it slightly, so the bracket's end values are trusted as found and
    never recomputed.
    """
    while outside - inside > 1e-4 * max(1.0, outside):
        middle = 0.5 * (inside + outside)
        if drop(middle) > DROP:
            outside = middle
        else:
            inside = middle
    return 0.5 * (inside + outside)
