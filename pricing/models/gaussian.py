"""Exact Gaussian building blocks shared by the mean-reverting models.

For an Ornstein-Uhlenbeck factor dX = -k X dt + s dW over a step of length d:

    X(t + d) = e^(-k d) X(t) + s sqrt(h(2k, d)) Z,   Z ~ N(0, 1),

with h(k, d) = (1 - e^(-k d)) / k (and h(0, d) = d), so no Euler bias on any grid. The covariance
of two OU values started at a fixed point is Cov(X(t), X(u)) = s^2 e^(-k |t - u|) h(2k, min(t, u)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.simulation import steps_of


def decay_integral(k: float, t: ArrayLike) -> NDArray[np.float64]:
    """h(k, t) = integral of e^(-k u) du over [0, t] = (1 - e^(-k t)) / k; equals t when k = 0."""
    t = np.asarray(t, dtype=float)
    if k == 0.0:
        return t.copy()
    return -np.expm1(-k * t) / k


def ou_steps(
    k: float, s: float, times: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The exact steps of an OU factor (speed k, volatility s) along a grid from t = 0: each step's
    length d, its decay e^(-k d) and the scale s sqrt(h(2k, d)) of its standard normal shock."""
    steps = steps_of(times)
    decay = np.exp(-k * steps)
    return steps, decay, s * np.sqrt(decay_integral(2.0 * k, steps))


def ou_covariance(k: float, s: float, t: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
    """Cov(X(t), X(u)) of an OU factor (speed k, volatility s) started at a fixed point (broadcasts)."""
    t, u = np.asarray(t, dtype=float), np.asarray(u, dtype=float)
    return s * s * np.exp(-k * np.abs(t - u)) * decay_integral(2.0 * k, np.minimum(t, u))


def linear_recursion(
    start: float | NDArray[np.float64],
    decay: NDArray[np.float64],
    shift: NDArray[np.float64],
    scale: NDArray[np.float64],
    shocks: NDArray[np.float64],
) -> NDArray[np.float64]:
    """x_i = decay_i x_(i-1) + shift_i + scale_i shocks_i, computed in place in ``shocks``.

    ``shocks`` has shape (steps, paths) so each step works on contiguous memory; ``start`` is x_(-1)
    (a scalar or one value per path). Returns ``shocks`` overwritten with x.
    """
    steps = shocks.shape[0]
    if steps == 0:
        return shocks
    work = np.empty_like(shocks[0])
    previous: float | NDArray[np.float64] = start
    for i in range(steps):
        row = shocks[i]
        row *= scale[i]
        if not isinstance(previous, np.ndarray):
            row += previous * decay[i]
        elif decay[i] == 1.0:
            row += previous
        else:
            np.multiply(previous, decay[i], out=work)
            row += work
        if shift[i] != 0.0:
            row += shift[i]
        previous = row
    return shocks


def average_variance(
    covariance: Callable[[NDArray[np.float64], NDArray[np.float64]], NDArray[np.float64]],
    times: NDArray[np.float64],
    block: int = 1024,
) -> float:
    """Var of the mean of a Gaussian process over ``times``: sum_ij Cov(t_i, t_j) / n^2.

    Summed in row blocks so memory stays O(block * n) even for hourly fixings over years.
    """
    total = 0.0
    for start in range(0, times.size, block):
        total += float(np.sum(covariance(times[start : start + block, None], times[None, :])))
    return total / times.size**2
