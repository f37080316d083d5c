"""The Vasicek large-homogeneous-pool (LHP) limit: tranche expected losses in closed form.

With a one-factor Gaussian model (provider i defaults by the horizon when
sqrt(rho) Z + sqrt(1 - rho) e_i < N^-1(p)), the default rate of an infinitely granular pool given
the factor is p(Z) = N((N^-1(p) - sqrt(rho) Z) / sqrt(1 - rho)), so the pool loss is L = lgd p(Z).
A tranche attaching at a and detaching at d (fractions of the pool) loses
min(max(L - a, 0), d - a) / (d - a) of its face; its expected loss is that integrated against the
standard normal density of Z (adaptive quadrature). ``finite_pool_tranche_loss`` is the same for n
providers, summing the binomial law of the defaults given Z, to measure how far a finite pool is
from the limit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.stats import binom, norm


def _conditional_rate(p: float, rho: float, z: float) -> float:
    return float(norm.cdf((norm.ppf(p) - math.sqrt(rho) * z) / math.sqrt(1.0 - rho)))


def _tranche_loss(loss: np.ndarray | float, attach: float, detach: float) -> np.ndarray | float:
    return np.minimum(np.maximum(loss - attach, 0.0), detach - attach) / (detach - attach)


def lhp_tranche_loss(p: float, rho: float, lgd: float, attach: float, detach: float) -> float:
    """Expected loss (share of face) of the [attach, detach) tranche of a large homogeneous pool."""
    if not (0.0 < p < 1.0 and 0.0 <= rho < 1.0 and 0.0 <= attach < detach <= 1.0):
        raise ValueError("need 0 < p < 1, 0 <= rho < 1 and 0 <= attach < detach <= 1")

    def integrand(z: float) -> float:
        return float(_tranche_loss(lgd * _conditional_rate(p, rho, z), attach, detach)) * norm.pdf(z)

    value, _ = integrate.quad(integrand, -10.0, 10.0, limit=200, epsabs=1e-12)
    return value


def finite_pool_tranche_loss(n: int, p: float, rho: float, lgd: float, attach: float, detach: float) -> float:
    """The same expected loss for ``n`` equal providers (binomial defaults given the factor)."""
    k = np.arange(n + 1)
    losses = _tranche_loss(lgd * k / n, attach, detach)

    def integrand(z: float) -> float:
        return float(binom.pmf(k, n, _conditional_rate(p, rho, z)) @ losses) * norm.pdf(z)

    value, _ = integrate.quad(integrand, -10.0, 10.0, limit=200, epsabs=1e-12)
    return value
