"""Exact call value on a sum of log-normals driven by one or two Gaussian factors.

An option on a swap (the mean of several forwards) is not log-normal, but when the forwards are
driven by one Gaussian factor Z the swap g(z) = sum c_i exp(b_i z - b_i^2 / 2) is a convex
function of z, so {g > K} is the complement of one interval whose ends are found by root search,
and each term integrates in closed form:

    E[c_i e^(b_i Z - b_i^2/2) 1{Z > z}] = c_i N(b_i - z),   E[c_i ... 1{Z < z}] = c_i N(z - b_i).

With two factors, the option is integrated over the minor principal direction with Gauss-Hermite
quadrature of the exact one-factor value, which is smooth in that direction.

Puts are integrated directly over {g < K} = [z_lo, z_hi], not obtained from the call by parity: when
the forwards are huge beside the strike (a log-variance of tens), C - (E g - K) cancels every digit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq
from scipy.special import logsumexp, ndtr

from pricing.instruments import OptionKind

QUADRATURE_NODES = 64
"""Gauss-Hermite nodes over the minor factor; 64 nodes agree with 256 to 1e-10 on the tests."""
_Z_MARGIN = 40.0
"""Beyond |z| = 40 + max|b| neither the Gaussian nor any tilted measure carries mass."""


def basket_option(
    kind: OptionKind, weights: NDArray[np.float64], factors: NDArray[np.float64], strike: float
) -> float:
    """E[(sum_i w_i exp(a_i . Z - |a_i|^2 / 2) - K)^+] (call) or E[(K - ...)^+] (put) for
    Z ~ N(0, I_d), w_i >= 0, d <= 2.

    ``factors`` holds a_i as rows (shape (n, d)).
    """
    total = float(np.sum(weights))
    if strike <= 0.0:
        return total - strike if kind == "call" else 0.0
    u, s, _ = np.linalg.svd(factors, full_matrices=False)
    rotated = u * s  # same law: rotate Z onto the principal directions, major first
    rank = int(np.sum(s > 1e-12 * max(s[0], 1e-300)))
    if rank == 0:
        return max(total - strike if kind == "call" else strike - total, 0.0)
    if rank == 1:
        return _one_factor(kind, weights, rotated[:, 0], strike)
    nodes, node_weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    node_weights = node_weights / np.sqrt(2.0 * np.pi)
    minor = rotated[:, 1]
    value = 0.0
    for z, p in zip(nodes, node_weights, strict=True):
        conditional = weights * np.exp(minor * z - 0.5 * minor**2)
        value += p * _one_factor(kind, conditional, rotated[:, 0], strike)
    return value


def _mass(low: NDArray[np.float64] | float, high: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """N(high) - N(low), taken in the lower tail where it is accurate."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    upper = low > 0.0
    return np.where(upper, ndtr(-low) - ndtr(-high), ndtr(high) - ndtr(low))


def _one_factor(kind: OptionKind, c: NDArray[np.float64], b: NDArray[np.float64], strike: float) -> float:
    """E[(sum_i c_i exp(b_i Z - b_i^2 / 2) - K)^+] (or the put), Z ~ N(0, 1), exactly."""
    keep = c > 0.0
    c, b = c[keep], b[keep]
    if c.size == 0:
        return 0.0 if kind == "call" else strike
    log_c = np.log(c) - 0.5 * b**2
    log_k = np.log(strike)

    def excess(z: float) -> float:  # log g(z) - log K: convex, same sign as g - K
        return float(logsumexp(log_c + b * z)) - log_k

    def slope(z: float) -> float:
        terms = log_c + b * z
        return float(np.sum(b * np.exp(terms - logsumexp(terms))))

    bound = _Z_MARGIN + float(np.max(np.abs(b)))

    def root(lo: float, hi: float, rising: bool) -> float:
        """Where excess crosses zero in [lo, hi]; an end point when it does not cross there."""
        f_lo, f_hi = excess(lo), excess(hi)
        if f_lo * f_hi < 0.0:
            return brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14)
        above = f_lo >= 0.0 if rising else f_hi >= 0.0
        return (-np.inf if above else np.inf) if rising else (np.inf if above else -np.inf)

    # ln g is convex: rising on the whole bracket, falling on it, or with a minimum inside. (Outside
    # the bracket neither the Gaussian nor any tilted measure has mass, so only its shape there counts.)
    if slope(-bound) >= 0.0:
        z_lo, z_hi = -np.inf, root(-bound, bound, rising=True)
    elif slope(bound) <= 0.0:
        z_lo, z_hi = root(-bound, bound, rising=False), np.inf
    else:
        bottom = brentq(slope, -bound, bound, xtol=1e-14)
        if excess(bottom) >= 0.0:
            z_lo, z_hi = -np.inf, -np.inf
        else:
            z_lo = root(-bound, bottom, rising=False)
            z_hi = root(bottom, bound, rising=True)
    # {g > K} = (-inf, z_lo) U (z_hi, inf); {g < K} = [z_lo, z_hi]
    if kind == "put":
        if not z_hi > z_lo:
            return 0.0
        return max(float(strike * _mass(z_lo, z_hi) - np.sum(c * _mass(z_lo - b, z_hi - b))), 0.0)
    in_region = ndtr(z_lo - b) + ndtr(b - z_hi)
    probability = ndtr(z_lo) + ndtr(-z_hi)
    return float(np.sum(c * in_region) - strike * probability)
