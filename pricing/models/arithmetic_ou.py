"""Arithmetic (Lucia-Schwartz) model: S = f(t) + X, dX = -kappa X dt + vol dW.

X is an OU process: X(t + d) = e^(-kappa d) X(t) + vol sqrt(h(2 kappa, d)) Z exactly, so S is
Gaussian with E[S(t)] = F(0, t) = f(t) + x0 e^(-kappa t),
Cov(S(t), S(u)) = vol^2 e^(-kappa |t - u|) h(2 kappa, min(t, u)), and
F(tau, T) = f(T) + X(tau) e^(-kappa (T - tau)). Any average of S is exactly Gaussian. The state is X.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models.gaussian import linear_recursion, ou_covariance, ou_steps
from pricing.models.seasonality import Seasonality
from pricing.models.simulation import PathModel


@dataclass(frozen=True)
class ArithmeticOU(PathModel):
    """Gaussian spot around a seasonal level; averages of S are exactly Gaussian."""

    n_factors: ClassVar[int] = 1

    x0: float
    kappa: float
    vol: float
    seasonality: Seasonality = field(default_factory=Seasonality)

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        return self.seasonality(t) + self.x0 * np.exp(-self.kappa * t)

    def covariance(self, t: ArrayLike, u: ArrayLike) -> NDArray[np.float64]:
        """Cov(S(t), S(u)) (broadcasts); with ``forward`` as mean it is S's whole Gaussian law."""
        return ou_covariance(self.kappa, self.vol, t, u)

    def evolve(
        self, times: NDArray[np.float64], normals: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.float64]:
        steps, decay, scale = ou_steps(self.kappa, self.vol, times)
        return linear_recursion(self.x0, decay, np.zeros_like(steps), scale, normals[0])[None]

    def spots(self, times: NDArray[np.float64], state: NDArray[np.float64]) -> NDArray[np.float64]:
        return state[0] + self.seasonality(times)[:, None]

    def conditional_forward(
        self, tau: float, state: NDArray[np.float64], maturities: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        decay = np.exp(-self.kappa * (maturities - tau))
        return self.seasonality(maturities)[:, None] + decay[:, None] * state[0][None, :]
