"""Schwartz-Smith (2000) two-factor model: ln S = chi + xi.

d chi = (-kappa chi - lambda_chi) dt + sigma_chi dZ1, d xi = mu_xi dt + sigma_xi dZ2, dZ1 dZ2 = rho dt.
Over a step d the pair moves exactly by

    chi += (e^(-kappa d) - 1) chi - lambda_chi h(kappa, d) + e1,   xi += mu_xi d + e2,
    Var e1 = sigma_chi^2 h(2 kappa, d),  Var e2 = sigma_xi^2 d,
    Cov(e1, e2) = rho sigma_chi sigma_xi h(kappa, d),

(h from ``pricing.models.gaussian``; the pair is drawn by a 2x2 Cholesky factor; the state
(chi, xi) is computed in place of the normals). Hence ln S(T) given the state at tau is Gaussian
with mean chi e^(-kappa d) - lambda_chi h(kappa, d) + xi + mu_xi d and variance
Var e1 + Var e2 + 2 Cov(e1, e2), d = T - tau, and F(tau, T) = exp(mean + variance / 2).
Across times, Cov(chi(t), xi(u)) = rho sigma_chi sigma_xi e^(-kappa (t - m)) h(kappa, m), m = min(t, u).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.gaussian import decay_integral, linear_recursion, ou_covariance
from pricing.models.simulation import PathModel, steps_of


@dataclass(frozen=True)
class SchwartzSmith(PathModel):
    """Short-term deviation chi (mean-reverting) plus long-run level xi (drifting random walk).

    d chi = (-kappa chi - lambda_chi) dt + sigma_chi dZ1; d xi = mu_xi dt + sigma_xi dZ2;
    dZ1 dZ2 = rho dt. A negative ``mu_xi`` models depreciation across hardware generations.
    """

    n_factors: ClassVar[int] = 2

    chi0: float
    xi0: float
    kappa: float
    sigma_chi: float
    mu_xi: float
    sigma_xi: float
    rho: float
    lambda_chi: float = 0.0

    def _step_law(
        self, d: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Variances of the chi and xi increments over steps d, and their covariance."""
        v_chi = self.sigma_chi**2 * decay_integral(2.0 * self.kappa, d)
        v_xi = self.sigma_xi**2 * d
        c = self.rho * self.sigma_chi * self.sigma_xi * decay_integral(self.kappa, d)
        return v_chi, v_xi, c

    def _log_moments(
        self, chi: ArrayLike, xi: ArrayLike, d: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Mean and variance of ln S after a time d from the state (chi, xi)."""
        mean = (
            np.asarray(chi) * np.exp(-self.kappa * d)
            - self.lambda_chi * decay_integral(self.kappa, d)
            + np.asarray(xi)
            + self.mu_xi * d
        )
        v_chi, v_xi, c = self._step_law(d)
        return mean, v_chi + v_xi + 2.0 * c

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        mean, variance = self._log_moments(self.chi0, self.xi0, np.asarray(t, dtype=float))
        with np.errstate(over="ignore"):  # past the float range it is inf, which a request refuses
            return np.exp(mean + 0.5 * variance)

    def log_mean(self, t: ArrayLike) -> NDArray[np.float64]:
        """E[ln S(t)]."""
        return self._log_moments(self.chi0, self.xi0, np.asarray(t, dtype=float))[0]

    def log_covariance(self, t: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
        """Cov(ln S(t), ln S(u)) (broadcasts)."""
        t, u = np.asarray(t, dtype=float), np.asarray(u, dtype=float)
        lo = np.minimum(t, u)
        scale = self.rho * self.sigma_chi * self.sigma_xi * decay_integral(self.kappa, lo)
        cross = scale * (np.exp(-self.kappa * (t - lo)) + np.exp(-self.kappa * (u - lo)))
        return ou_covariance(self.kappa, self.sigma_chi, t, u) + self.sigma_xi**2 * lo + cross

    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        steps = steps_of(times)
        v_chi, v_xi, c = self._step_law(steps)
        sd_chi = np.sqrt(v_chi)
        load = np.divide(c, sd_chi, out=np.zeros_like(c), where=sd_chi > 0.0)
        rest = np.sqrt(np.maximum(v_xi - load**2, 0.0))
        normals[1] *= rest[:, None]
        normals[1] += load[:, None] * normals[0]
        ones = np.ones_like(steps)
        linear_recursion(self.xi0, ones, self.mu_xi * steps, ones, normals[1])
        decay = np.exp(-self.kappa * steps)
        shift = -self.lambda_chi * decay_integral(self.kappa, steps)
        linear_recursion(self.chi0, decay, shift, sd_chi, normals[0])
        return normals

    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.exp(state[0] + state[1])

    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        d = (maturities - tau)[:, None]
        mean, variance = self._log_moments(state[0][None, :], state[1][None, :], d)
        return np.exp(mean + 0.5 * variance)
