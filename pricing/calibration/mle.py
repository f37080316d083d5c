"""Maximum likelihood with standard errors from the observed information.

The optimiser works in an unconstrained space (logs of positive parameters, artanh of
correlations) so that it never proposes an invalid model; the observed information is the
numerical Hessian of the negative log-likelihood there, mapped back to the natural parameters by
the delta method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

if TYPE_CHECKING:
    from pricing.calibration.profile import Interval

Constraint = Literal["free", "positive", "correlation"]


@dataclass(frozen=True)
class Parameter:
    """A parameter to estimate: its name in the model format and the set it lives in."""

    name: str
    constraint: Constraint = "free"

    def to_free(self, value: float) -> float:
        if self.constraint == "positive":
            return float(np.log(value))
        if self.constraint == "correlation":
            return float(np.arctanh(np.clip(value, -0.999, 0.999)))
        return float(value)

    def from_free(self, value: float) -> float:
        if self.constraint == "positive":
            return float(np.exp(min(value, 700.0)))
        if self.constraint == "correlation":
            return float(np.tanh(value))
        return float(value)

    def derivative(self, value: float) -> float:
        """d natural / d free at the free value ``value`` (the delta-method Jacobian)."""
        if self.constraint == "positive":
            return float(np.exp(value))
        if self.constraint == "correlation":
            return float(1.0 - np.tanh(value) ** 2)
        return 1.0


@dataclass(frozen=True)
class MLEFit:
    """The maximiser, its covariance (NaN where the information is singular) and the log-likelihood."""

    values: NDArray[np.float64]
    covariance: NDArray[np.float64]
    loglik: float
    converged: bool
    message: str
    intervals: tuple[Interval, ...] | None = None
    free_errors: NDArray[np.float64] | None = None
    """Standard errors in the optimiser's coordinates (log scale for positive parameters)."""
    flat: tuple[int, ...] = ()
    """Where the observed information is not positive definite: the parameters (indices) that
    load on its flat or wrongly curved directions."""

    @property
    def std_errors(self) -> NDArray[np.float64]:
        return np.sqrt(np.where(np.diag(self.covariance) >= 0.0, np.diag(self.covariance), np.nan))


def maximise(
    parameters: Sequence[Parameter],
    start: Sequence[float],
    negloglik: Callable[[NDArray[np.float64]], float],
    profile: bool = False,
) -> MLEFit:
    """Maximise a log-likelihood given as ``negloglik(natural parameter vector)``; with ``profile``,
    also the 95% profile-likelihood interval of each parameter (:mod:`pricing.calibration.profile`)."""

    def objective(free: NDArray[np.float64]) -> float:
        natural = np.array([p.from_free(u) for p, u in zip(parameters, free, strict=True)])
        value = negloglik(natural)
        return float(value) if np.isfinite(value) else 1e300

    u0 = np.array([p.to_free(v) for p, v in zip(parameters, start, strict=True)])
    # A gradient search, then a simplex polish (gradients by differences stall on the flat ridges of
    # mixture and filter likelihoods), then a gradient search again from the polished point.
    best = optimize.minimize(objective, u0, method="L-BFGS-B")
    polished = optimize.minimize(
        objective, best.x, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000}
    )
    if polished.fun <= best.fun:
        again = optimize.minimize(objective, polished.x, method="L-BFGS-B")
        best = again if again.fun <= polished.fun else polished
    hessian = _hessian(objective, best.x)
    jacobian = np.diag([p.derivative(u) for p, u in zip(parameters, best.x, strict=True)])
    free_errors = np.full(len(parameters), np.nan)
    flat: tuple[int, ...] = ()
    eigenvalues, eigenvectors = np.linalg.eigh(hessian) if np.all(np.isfinite(hessian)) else (None, None)
    if eigenvalues is not None and np.all(eigenvalues > 0.0):
        inverse = np.linalg.inv(hessian)
        covariance = jacobian @ inverse @ jacobian.T
        free_errors = np.sqrt(np.abs(np.diag(inverse)))
        converged, message = True, "converged"
    else:
        covariance = np.full((len(parameters), len(parameters)), np.nan)
        converged = False
        if eigenvalues is None:
            flat = tuple(range(len(parameters)))
        else:  # the parameters that move along the directions where the likelihood does not curve down
            loadings = np.abs(eigenvectors[:, eigenvalues <= 0.0]).max(axis=1)
            flat = tuple(int(i) for i in np.flatnonzero(loadings >= 0.5 * loadings.max()))
        names = ", ".join(parameters[i].name for i in flat)
        message = f"observed information not positive definite: the likelihood is flat along {names}"
    values = np.array([p.from_free(u) for p, u in zip(parameters, best.x, strict=True)])
    intervals = None
    if profile:
        from pricing.calibration.profile import profile_intervals

        intervals = tuple(profile_intervals(parameters, best.x, objective, free_errors))
    return MLEFit(values, covariance, -float(best.fun), converged, message, intervals, free_errors, flat)


def _hessian(f: Callable[[NDArray[np.float64]], float], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Central-difference Hessian; steps scale with |x| so that log-parameters move relatively."""
    n = len(x)
    step = 1e-4 * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    hessian = np.empty((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = step[i]
        hessian[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / step[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = step[j]
            cross = f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            hessian[i, j] = hessian[j, i] = cross / (4 * step[i] * step[j])
    return hessian


def ou_transition(dt: NDArray[np.float64], kappa: float, vol: float) -> tuple[NDArray, NDArray]:
    """Exact OU step dX = -kappa X dt + vol dW: X(t+dt) | X(t) = x ~ N(phi x, var); returns (phi, var).

    Written with expm1 so that kappa -> 0 tends to the Brownian variance vol^2 dt.
    """
    phi = np.exp(-kappa * dt)
    var = vol**2 * dt if kappa == 0.0 else vol**2 * -np.expm1(-2.0 * kappa * dt) / (2.0 * kappa)
    return phi, var
