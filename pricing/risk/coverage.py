"""VaR backtests: Kupiec's proportion of failures and Christoffersen's independence test.

A VaR at level ``a`` should be exceeded on a fraction ``p = 1 - a`` of days, and exceedances should
not cluster. With ``n`` observations and ``x`` exceedances:

- Kupiec POF: ``LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]`` ~ chi-square(1);
- Christoffersen independence, from the transition counts ``n_ij`` (state i then j, 1 = exceedance):
  ``pi_0 = n01/(n00+n01)``, ``pi_1 = n11/(n10+n11)``, ``pi = (n01+n11)/N``,
  ``LR = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] + 2 ln[(1-pi_0)^n00 pi_0^n01 (1-pi_1)^n10 pi_1^n11]``
  ~ chi-square(1);
- conditional coverage: the sum, ~ chi-square(2).

``0 ln 0`` is taken as 0. Transition counts add across independent series (several products), so
one test can pool them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import xlogy
from scipy.stats import chi2


@dataclass(frozen=True)
class Transitions:
    """Counts of consecutive (previous, next) exceedance states."""

    n00: int
    n01: int
    n10: int
    n11: int

    @classmethod
    def of(cls, hits: ArrayLike) -> Transitions:
        h = np.asarray(hits, dtype=bool)
        prev, nxt = h[:-1], h[1:]
        return cls(
            int(np.sum(~prev & ~nxt)),
            int(np.sum(~prev & nxt)),
            int(np.sum(prev & ~nxt)),
            int(np.sum(prev & nxt)),
        )

    def __add__(self, other: Transitions) -> Transitions:
        return Transitions(
            self.n00 + other.n00, self.n01 + other.n01, self.n10 + other.n10, self.n11 + other.n11
        )


@dataclass(frozen=True)
class TestResult:
    """A likelihood-ratio statistic and its chi-square p-value."""

    statistic: float
    p_value: float
    dof: int


def kupiec(n: int, exceedances: int, p: float) -> TestResult:
    """Kupiec's proportion-of-failures test of ``exceedances`` out of ``n`` at rate ``p``."""
    if n <= 0 or not 0 <= exceedances <= n or not 0 < p < 1:
        raise ValueError("kupiec needs n > 0, 0 <= exceedances <= n and 0 < p < 1")
    x, rate = exceedances, exceedances / n
    null = xlogy(n - x, 1 - p) + xlogy(x, p)
    alt = xlogy(n - x, 1 - rate) + xlogy(x, rate)
    stat = max(-2 * (null - alt), 0.0)
    return TestResult(float(stat), float(chi2.sf(stat, 1)), 1)


def christoffersen(t: Transitions) -> TestResult:
    """Christoffersen's independence test on transition counts."""
    total = t.n00 + t.n01 + t.n10 + t.n11
    if total == 0:
        raise ValueError("christoffersen needs at least two observations")
    pi = (t.n01 + t.n11) / total
    pi0 = t.n01 / (t.n00 + t.n01) if t.n00 + t.n01 else 0.0
    pi1 = t.n11 / (t.n10 + t.n11) if t.n10 + t.n11 else 0.0
    null = xlogy(t.n00 + t.n10, 1 - pi) + xlogy(t.n01 + t.n11, pi)
    alt = xlogy(t.n00, 1 - pi0) + xlogy(t.n01, pi0) + xlogy(t.n10, 1 - pi1) + xlogy(t.n11, pi1)
    stat = max(-2 * (null - alt), 0.0)
    return TestResult(float(stat), float(chi2.sf(stat, 1)), 1)


def conditional_coverage(pof: TestResult, independence: TestResult) -> TestResult:
    """Christoffersen's joint test: POF + independence ~ chi-square(2)."""
    stat = pof.statistic + independence.statistic
    return TestResult(stat, float(chi2.sf(stat, 2)), 2)
