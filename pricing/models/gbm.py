"""Geometric Brownian motion with cost of carry: dS/S = carry dt + vol dW.

ln S(t) is Gaussian with mean ln S0 + (b - s^2/2) t and Cov(ln S(t), ln S(u)) = s^2 min(t, u), so
F(0, t) = S0 e^(b t), F(tau, T) = S(tau) e^(b (T - tau)), and a step of length d is the exact
transition ln S += (b - s^2/2) d + s sqrt(d) Z. The state is ln S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.gaussian import linear_recursion
from pricing.models.simulation import PathModel, steps_of


@dataclass(frozen=True)
class GBM(PathModel):
    """Log-normal spot; carry 0 makes S itself a forward price (Black-76)."""

    n_factors: ClassVar[int] = 1

    spot: float
    vol: float
    carry: float = 0.0

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        """F(0, t) = S0 e^(carry t)."""
        return self.spot * np.exp(self.carry * np.asarray(t, dtype=float))

    def log_mean(self, t: ArrayLike) -> NDArray[np.float64]:
        """E[ln S(t)]."""
        return np.log(self.spot) + (self.carry - 0.5 * self.vol**2) * np.asarray(t, dtype=float)

    def log_covariance(self, t: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
        """Cov(ln S(t), ln S(u)) (broadcasts)."""
        return self.vol**2 * np.minimum(np.asarray(t, dtype=float), np.asarray(u, dtype=float))

    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        steps = steps_of(times)
        drift = (self.carry - 0.5 * self.vol**2) * steps
        scale = self.vol * np.sqrt(steps)
        log_s = linear_recursion(np.log(self.spot), np.ones_like(steps), drift, scale, normals[0])
        return log_s[None]

    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.exp(state[0])

    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """F(tau, T_j) given the state (ln S(tau)) per path: shape (len(maturities), paths)."""
        return np.exp(state[0][None, :] + self.carry * (maturities - tau)[:, None])
