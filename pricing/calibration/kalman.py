"""The Schwartz-Smith spot filter in array arithmetic (regular grids, spot prices only).

The spot is observed exactly, ln S = chi + xi, so once y_i = ln S_i is known xi_i = y_i - chi_i and
the two-factor filter reduces to a scalar one on chi. With z_{i+1} = y_{i+1} - y_i,

    chi_{i+1} = phi chi_i + c1 + w1,         z_{i+1} = (phi - 1) chi_i + c1 + c2 + w1 + w2,

so with chi_i ~ N(m_i, P_i) given y_0..y_i: the innovation nu = z - (phi - 1) m - c1 - c2 has variance
F = (phi - 1)^2 P + r, r = Var(w1 + w2); the gain is K = (phi (phi - 1) P + s) / F, s = Cov(w1, w1 + w2);
m' = phi m + c1 + K nu and P' = phi^2 P + q11 - (phi (phi - 1) P + s)^2 / F. (These are exactly the
quantities of the two-factor loop in :func:`pricing.calibration.schwartz_smith.kalman`.)

On a regular grid the variance recursion is one Moebius map P' = (a P + b) / (c P + d), so its k-th
iterate is the k-th power of the matrix [[a, b], [c, d]]: with its eigenvalues l1, l2 (real, since
b >= 0 and c >= 0) P_k follows in closed form for every k at once, with (l2 / l1)^k, never an
overflowing power. The mean then obeys a scalar linear recursion m_{k+1} = alpha_k m_k + u_k, solved
by cumulative products in blocks short enough that no product underflows. No Python loop over
observations remains (only over blocks); irregular grids and forward quotes use the loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

LOG_2PI = math.log(2.0 * math.pi)
SMALLEST = 1e-250
"""Smallest cumulative product a block of the mean recursion may reach (far from underflow)."""


def regular(dt: NDArray[np.float64]) -> bool:
    """Whether every step has the same length (to 1e-9 relative)."""
    return dt.size > 0 and float(np.ptp(dt)) <= 1e-9 * float(dt[0])


def kalman_regular(
    p: Mapping[str, float], step: float, y: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], tuple[float, float]] | None:
    """Log-likelihood, standardised innovations and last filtered (chi, xi) on a grid of one ``step``.

    None when the closed form is numerically unsafe (a near-defective variance map, or a gain that
    stalls the mean recursion); the caller then runs the loop.
    """
    kappa, s_chi, s_xi, rho = p["kappa"], p["sigma_chi"], p["sigma_xi"], p["rho"]
    phi = math.exp(-kappa * step)
    decay = -math.expm1(-kappa * step)
    c1, c2 = -p["lambda_chi"] * decay / kappa, p["mu_xi"] * step
    q11 = s_chi * s_chi * -math.expm1(-2.0 * kappa * step) / (2.0 * kappa)
    q12 = rho * s_chi * s_xi * decay / kappa
    q22 = s_xi * s_xi * step
    r, s = q11 + 2.0 * q12 + q22, q11 + q12
    n = y.size - 1
    variances = _variances(phi, q11, r, s, s_chi * s_chi / (2.0 * kappa), n)
    if variances is None:
        return None
    f = (phi - 1.0) ** 2 * variances + r
    gain = (phi * (phi - 1.0) * variances + s) / f
    z = np.diff(y)
    alpha = phi - gain * (phi - 1.0)
    forcing = c1 + gain * (z - c1 - c2)
    means = _linear_recursion(alpha, forcing, 0.0)
    if means is None:
        return None
    nu = z - (phi - 1.0) * means[:-1] - c1 - c2
    loglik = -0.5 * float(np.sum(LOG_2PI + np.log(f) + nu * nu / f))
    chi = float(means[-1])
    return loglik, nu / np.sqrt(f), (chi, float(y[-1]) - chi)


def _variances(
    phi: float, q11: float, r: float, s: float, start: float, n: int
) -> NDArray[np.float64] | None:
    """P_0 .. P_{n-1} of the scalar Riccati recursion, from the powers of its Moebius matrix."""
    a = phi * phi * r + q11 * (phi - 1.0) ** 2 - 2.0 * phi * (phi - 1.0) * s
    b = q11 * r - s * s
    c = (phi - 1.0) ** 2
    d = r
    half_trace, determinant = 0.5 * (a + d), a * d - b * c
    discriminant = half_trace * half_trace - determinant
    if discriminant <= 0.0 or c <= 0.0:
        return None  # repeated (or complex) eigenvalues: no stable closed form, use the loop
    root = math.sqrt(discriminant)
    big, small = (
        (half_trace + root, half_trace - root) if half_trace >= 0 else (half_trace - root, half_trace + root)
    )
    if big == 0.0:
        return None
    # eigenvectors ((l - d) / c, 1) of [[a, b], [c, d]]; [start, 1] = w1 v1 + w2 v2
    x1, x2 = (big - d) / c, (small - d) / c
    w1 = (start - x2) / (x1 - x2)
    w2 = 1.0 - w1
    ratio = (small / big) ** np.arange(n)
    numerator = x1 * w1 + x2 * w2 * ratio
    denominator = w1 + w2 * ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        variances = numerator / denominator
    if not np.all(np.isfinite(variances)) or np.any(variances < -1e-12 * max(start, 1e-300)):
        return None
    return np.maximum(variances, 0.0)


def _linear_recursion(
    alpha: NDArray[np.float64], forcing: NDArray[np.float64], start: float
) -> NDArray[np.float64] | None:
    """m_0 = start, m_{k+1} = alpha_k m_k + forcing_k, for k < n, by blocks of cumulative products."""
    smallest = float(np.min(np.abs(alpha))) if alpha.size else 1.0
    if smallest < 1e-200:
        return None
    block = alpha.size if smallest >= 1.0 else max(1, int(math.log(SMALLEST) / math.log(smallest)))
    out = np.empty(alpha.size + 1)
    out[0] = start
    for first in range(0, alpha.size, block):
        products = np.cumprod(alpha[first : first + block])
        if not np.all(np.isfinite(products)):
            return None
        sums = np.cumsum(forcing[first : first + block] / products)
        out[first + 1 : first + 1 + products.size] = products * (out[first] + sums)
    return out
