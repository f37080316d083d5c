"""Schwartz (1997) one-factor model: d ln S = kappa (alpha - ln S) dt + vol dW.

ln S is an OU process around alpha: over a step d,
ln S(t + d) = alpha + (ln S(t) - alpha) e^(-kappa d) + vol sqrt(h(2 kappa, d)) Z (exact), hence

    F(tau, T) = exp(alpha + (ln S(tau) - alpha) e^(-kappa d) + vol^2 h(2 kappa, d) / 2),  d = T - tau,

with h from ``pricing.models.gaussian``; F(0, t) is the case tau = 0. The state is ln S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.gaussian import decay_integral, linear_recursion, ou_covariance, ou_steps
from pricing.models.simulation import PathModel


@dataclass(frozen=True)
class Schwartz1F(PathModel):
    """Log price mean-reverting to ``alpha`` at speed ``kappa``."""

    n_factors: ClassVar[int] = 1

    spot: float
    kappa: float
    alpha: float
    vol: float

    def _log_mean(self, log_start: ArrayLike, d: ArrayLike) -> NDArray[np.float64]:
        decay = np.exp(-self.kappa * np.asarray(d, dtype=float))
        return self.alpha + (np.asarray(log_start) - self.alpha) * decay

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        variance = self.vol**2 * decay_integral(2.0 * self.kappa, t)
        return np.exp(self._log_mean(np.log(self.spot), t) + 0.5 * variance)

    def log_mean(self, t: ArrayLike) -> NDArray[np.float64]:
        """E[ln S(t)]."""
        return self._log_mean(np.log(self.spot), np.asarray(t, dtype=float))

    def log_covariance(self, t: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
        """Cov(ln S(t), ln S(u)) (broadcasts)."""
        return ou_covariance(self.kappa, self.vol, t, u)

    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        _, decay, scale = ou_steps(self.kappa, self.vol, times)
        shift = self.alpha * (1.0 - decay)
        return linear_recursion(np.log(self.spot), decay, shift, scale, normals[0])[None]

    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.exp(state[0])

    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        d = (maturities - tau)[:, None]
        variance = self.vol**2 * decay_integral(2.0 * self.kappa, d)
        return np.exp(self._log_mean(state[0][None, :], d) + 0.5 * variance)
