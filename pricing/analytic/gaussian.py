"""The Gaussian state behind each exactly solvable model, and the laws it implies.

gbm, schwartz1f and schwartz_smith are log-Gaussian and arithmetic_ou is Gaussian: in each, a
centred Gaussian Markov state Y(t) (one or two factors) drives the spot, and conditional forwards
load on it through exponentials,

    log-normal: F(tau, t) = F(0, t) exp(b(t - tau) . Y(tau) - b' Sigma(tau) b / 2)
    normal:     F(tau, t) = F(0, t) + b(t - tau) . Y(tau),

with b_j(dt) = exp(-speed_j dt) (speed 0 for a random-walk factor) and Sigma(tau) = Cov Y(tau).
Since S(t) = F(t, t), the log spot (or spot) is 1 . Y(t) plus a deterministic level. What the
options on forwards and swaps need --
the laws of forwards and swaps at expiry -- follows from (speeds, Sigma). (Laws of the spot
across times, for averages, come from the models' own ``log_covariance`` / ``covariance``.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.models import GBM, ArithmeticOU, Model, Schwartz1F, SchwartzSmith
from pricing.models.gaussian import decay_integral


@dataclass(frozen=True)
class GaussianState:
    """Speeds and covariance of a model's centred Gaussian state (see the module docstring)."""

    lognormal: bool
    speeds: tuple[float, ...]
    model: Model

    def covariance(self, t: ArrayLike) -> NDArray[np.float64]:
        """Sigma(t) for each t: shape (len(t), d, d)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        m = self.model
        if isinstance(m, GBM):
            return (m.vol**2 * t)[:, None, None]
        if isinstance(m, Schwartz1F | ArithmeticOU):
            return (m.vol**2 * decay_integral(2.0 * m.kappa, t))[:, None, None]
        assert isinstance(m, SchwartzSmith)
        chi = m.sigma_chi**2 * decay_integral(2.0 * m.kappa, t)
        cross = m.rho * m.sigma_chi * m.sigma_xi * decay_integral(m.kappa, t)
        xi = m.sigma_xi**2 * t
        return np.stack([np.stack([chi, cross], -1), np.stack([cross, xi], -1)], -2)

    def loadings(self, tau: float, times: ArrayLike) -> NDArray[np.float64]:
        """b(t - tau) for each t >= tau: shape (len(times), d)."""
        dt = np.atleast_1d(np.asarray(times, dtype=float)) - tau
        return np.exp(-np.outer(dt, self.speeds))


def gaussian_state(model: Model) -> GaussianState | None:
    """The Gaussian state of ``model``, or None when its law is not Gaussian (jump_ou)."""
    if isinstance(model, GBM):
        return GaussianState(True, (0.0,), model)
    if isinstance(model, Schwartz1F):
        return GaussianState(True, (model.kappa,), model)
    if isinstance(model, SchwartzSmith):
        return GaussianState(True, (model.kappa, 0.0), model)
    if isinstance(model, ArithmeticOU):
        return GaussianState(False, (model.kappa,), model)
    return None
