"""Scoring rules and tests for forecasts: point errors, CRPS, pinball loss, Kupiec coverage test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats


def crps_ensemble(samples: NDArray[np.float64], observed: float) -> float:
    """Continuous ranked probability score of an ensemble: E|X - y| - E|X - X'| / 2 (lower is better).

    For a point forecast it reduces to the absolute error, so it compares with baselines' MAE.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    m = x.size
    spread = 2.0 * np.sum((2.0 * np.arange(1, m + 1) - m - 1.0) * x) / (m * m)
    return float(np.mean(np.abs(x - observed)) - 0.5 * spread)


def pinball(quantiles: NDArray[np.float64], levels: Sequence[float], observed: float) -> float:
    """Mean pinball (quantile) loss over the given quantile levels."""
    levels_arr = np.asarray(levels, dtype=float)
    diff = observed - np.asarray(quantiles, dtype=float)
    return float(np.mean(np.maximum(levels_arr * diff, (levels_arr - 1.0) * diff)))


def kupiec(misses: int, n: int, level: float) -> float:
    """p-value of Kupiec's proportion-of-failures test that an interval covers with probability ``level``.

    Assumes independent misses; overlapping delivery windows make consecutive misses dependent, so
    read small p-values at short origin steps as indicative.
    """
    if n == 0:
        return float("nan")
    p = 1.0 - level
    rate = misses / n

    def loglik(q: float) -> float:
        return (
            (n - misses) * np.log1p(-q) + misses * np.log(q)
            if 0.0 < q < 1.0
            else (0.0 if (q == 0.0 and misses == 0) or (q == 1.0 and misses == n) else -np.inf)
        )

    statistic = -2.0 * (loglik(p) - loglik(rate))
    return float(stats.chi2.sf(max(statistic, 0.0), 1))
