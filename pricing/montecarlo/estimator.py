"""Control-variate estimation from streamed samples.

Each sample is a vector (Y, C_1, ..., C_k): the discounted payoff and k controls with known means
mu. The estimate is

    Y_bar - beta . (C_bar - mu),   beta = Cov(C)^+ Cov(C, Y),

the regression (optimal) coefficients, estimated on all samples; the bias this introduces is
O(1 / n) and negligible beside the standard error. Moments are merged chunk by chunk with the
pairwise update of Chan, Golub and LeVeque, which stays accurate when the mean dwarfs the spread.

Standard error: for independent samples, sqrt(Var(Y - beta . C) / n) with n - 1 - k degrees of
freedom; for randomised quasi-Monte Carlo, the spread of the per-replicate estimates (each using
the pooled beta) divided by sqrt(replicates).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_NEGLIGIBLE = 1e-24
"""A control whose variance is below this times its squared mean is constant up to rounding."""


class ControlledMean:
    """Streaming accumulator of (payoff, controls) samples split into replicates."""

    def __init__(self, control_means: NDArray[np.float64], replicates: int) -> None:
        self._mu = np.asarray(control_means, dtype=float)
        width = 1 + self._mu.size
        self._count = 0
        self._mean = np.zeros(width)
        self._comoment = np.zeros((width, width))
        self._replicate_count = np.zeros(replicates, dtype=np.int64)
        self._replicate_sum = np.zeros((replicates, width))

    def add(self, first_replicate: int, replicates: int, samples: NDArray[np.float64]) -> None:
        """Add samples of shape (1 + k, n): row 0 the payoff, then the controls; the columns belong,
        in equal consecutive blocks, to ``replicates`` replicates from ``first_replicate`` on."""
        n = samples.shape[1]
        if n == 0:
            return
        if not np.all(np.isfinite(samples)):
            raise FloatingPointError("Monte Carlo samples contain NaN or infinite values")
        mean = samples.mean(axis=1)
        centred = samples - mean[:, None]
        comoment = np.einsum("in,jn->ij", centred, centred)  # not BLAS: its threads stall on a busy machine
        total = self._count + n
        delta = mean - self._mean
        self._comoment += comoment + np.outer(delta, delta) * (self._count * n / total)
        self._mean += delta * (n / total)
        self._count = total
        blocks = slice(first_replicate, first_replicate + replicates)
        self._replicate_count[blocks] += n // replicates
        self._replicate_sum[blocks] += samples.reshape(samples.shape[0], replicates, -1).sum(axis=2).T

    def _beta(self) -> NDArray[np.float64]:
        """Regression coefficients; controls without variance (e.g. a linear control averaged over
        an antithetic pair) get 0 rather than a coefficient fitted to rounding noise."""
        beta = np.zeros(self._mu.size)
        variance = np.diag(self._comoment)[1:] / max(self._count, 1)
        live = variance > _NEGLIGIBLE * self._mean[1:] ** 2
        if not np.any(live):
            return beta
        scale = np.sqrt(variance[live])
        cov_cc = self._comoment[1:, 1:][np.ix_(live, live)] / np.outer(scale, scale)
        cov_cy = self._comoment[1:, 0][live] / scale
        beta[live] = np.linalg.lstsq(cov_cc, cov_cy, rcond=1e-10)[0] / scale
        return beta

    def estimate(self, randomised: bool) -> tuple[float, float]:
        """(value, standard error); ``randomised`` takes the error from the replicates' spread."""
        n, k = self._count, self._mu.size
        beta = self._beta() if n - 1 - k > 0 else np.zeros(k)  # too few samples to fit controls
        if randomised:
            means = self._replicate_sum / self._replicate_count[:, None]
            estimates = means[:, 0] - (means[:, 1:] - self._mu) @ beta
            return float(estimates.mean()), float(np.std(estimates, ddof=1) / np.sqrt(estimates.size))
        value = self._mean[0] - (self._mean[1:] - self._mu) @ beta
        residual = self._comoment[0, 0] - self._comoment[1:, 0] @ beta
        dof = n - 1 - int(np.count_nonzero(beta))
        return float(value), float(np.sqrt(max(residual, 0.0) / dof / n))
