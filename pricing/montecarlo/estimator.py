"""Control-variate coefficients from a pilot, and the streamed estimate with its standard error.

Each sample is a vector (Y, C_1, ..., C_k): the discounted payoff and k controls with known means
mu. The estimate is the mean of

    Y - beta . (C - mu),   beta = Cov(C)^+ Cov(C, Y),

with beta the regression coefficients of an independent **pilot** sample (``ControlledMean``), so
beta is a constant for the main sample and the estimator is exactly unbiased, whatever the tails: a
coefficient fitted on the same paths can drag the estimate by beta . (C_bar - mu) precisely when the
controls' tails are badly sampled, and the standard error does not show it. (Which controls may be
used at all, given their tails, is decided where the payoff is built: ``pricing.montecarlo.tails``.)
Moments are merged chunk by chunk with the pairwise update of Chan, Golub and LeVeque, which stays
accurate when the mean dwarfs the spread.

The main sample is split into replicates (``ReplicatedMean``): for randomised quasi-Monte Carlo the
independent scramblings, for pseudo-random sampling consecutive batches of independent paths. The
standard error is, for pseudo-random paths, sqrt(Var(residual) / n) with n - 1 degrees of freedom;
for randomised QMC the spread of the R replicate estimates, sd / sqrt(R), with R - 1 degrees of
freedom, so a 95% interval takes the Student-t quantile t(R - 1), not 1.96 (``interval``). The
replicate estimates themselves are kept: estimates of bumped revaluations with common random numbers
pair up replicate by replicate, which gives the Greeks their standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.stats import t as student_t

from pricing.request import NotComputableError

_NEGLIGIBLE = 1e-24
"""A control whose variance is below this times its squared mean is constant up to rounding."""
CONFIDENCE = 0.95
"""Level of the reported confidence intervals."""


def t_quantile(dof: int) -> float:
    """The two-sided CONFIDENCE quantile of Student's t with ``dof`` degrees of freedom."""
    return float(student_t.ppf(0.5 + CONFIDENCE / 2.0, dof))


class ControlledMean:
    """Streaming means and co-moments of (payoff, controls) samples: the regression coefficients."""

    def __init__(self, control_means: NDArray[np.float64]) -> None:
        self._mu = np.asarray(control_means, dtype=float)
        width = 1 + self._mu.size
        self._count = 0
        self._mean = np.zeros(width)
        self._comoment = np.zeros((width, width))

    def add(self, samples: NDArray[np.float64]) -> None:
        """Add samples of shape (1 + k, n): row 0 the payoff, then the controls."""
        n = samples.shape[1]
        if n == 0:
            return
        mean = samples.mean(axis=1)
        centred = samples - mean[:, None]
        comoment = np.einsum("in,jn->ij", centred, centred)  # not BLAS: its threads stall on a busy machine
        total = self._count + n
        delta = mean - self._mean
        self._comoment += comoment + np.outer(delta, delta) * (self._count * n / total)
        self._mean += delta * (n / total)
        self._count = total

    def beta(self) -> NDArray[np.float64]:
        """Regression coefficients; controls without variance (e.g. a linear control averaged over
        an antithetic pair) get 0 rather than a coefficient fitted to rounding noise, and so do all
        controls when the sample is too small to fit them."""
        beta = np.zeros(self._mu.size)
        if self._count - 1 - self._mu.size <= 0:
            return beta
        variance = np.diag(self._comoment)[1:] / self._count
        live = variance > _NEGLIGIBLE * self._mean[1:] ** 2
        if not np.any(live):
            return beta
        scale = np.sqrt(variance[live])
        cov_cc = self._comoment[1:, 1:][np.ix_(live, live)] / np.outer(scale, scale)
        cov_cy = self._comoment[1:, 0][live] / scale
        beta[live] = np.linalg.lstsq(cov_cc, cov_cy, rcond=1e-10)[0] / scale
        return beta


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error, the degrees of freedom of that error, and the replicates'
    own estimates (equal-weight: their mean is ``value``)."""

    value: float
    std_error: float
    dof: int
    replicates: tuple[float, ...]
    informative: float


class ReplicatedMean:
    """Streaming mean of scalar samples that belong to ``replicates`` equal-sized replicates."""

    def __init__(self, replicates: int) -> None:
        self._count = 0
        self._mean = 0.0
        self._square = 0.0
        self._shift: float | None = None
        self._powers = np.zeros(4)  # sums of (x - shift)^p, p = 1..4
        self._replicate_count = np.zeros(replicates, dtype=np.int64)
        self._replicate_sum = np.zeros(replicates)

    def add(self, first_replicate: int, replicates: int, samples: NDArray[np.float64]) -> None:
        """Add samples (n,) that belong, in equal consecutive blocks, to ``replicates`` replicates
        from ``first_replicate`` on."""
        n = samples.size
        if n == 0:
            return
        if not np.all(np.isfinite(samples)):
            raise FloatingPointError("Monte Carlo samples contain NaN or infinite values")
        mean = float(samples.mean())
        square = float(np.sum((samples - mean) ** 2))
        total = self._count + n
        delta = mean - self._mean
        self._square += square + delta * delta * (self._count * n / total)
        self._mean += delta * (n / total)
        self._count = total
        if self._shift is None:
            self._shift = mean
        shifted = samples - self._shift
        squared = shifted * shifted
        self._powers += (shifted.sum(), squared.sum(), (squared * shifted).sum(), (squared * squared).sum())
        blocks = slice(first_replicate, first_replicate + replicates)
        self._replicate_count[blocks] += n // replicates
        self._replicate_sum[blocks] += samples.reshape(replicates, -1).sum(axis=1)

    def informative(self) -> float:
        """(sum d^2)^2 / sum d^4 over the deviations d from the mean: the number of samples that carry
        the variance (n / kurtosis; the number of events when a rare event makes the spread), and
        infinite when the samples do not vary."""
        n = self._count
        if n == 0:
            return 0.0
        m1, m2, m3, m4 = self._powers / n
        second = m2 - m1 * m1
        fourth = m4 - 4.0 * m3 * m1 + 6.0 * m2 * m1 * m1 - 3.0 * m1**4
        if fourth <= 0.0 or second <= 0.0:
            return math.inf
        return n * second * second / fourth

    def estimate(self, randomised: bool) -> Estimate:
        """``randomised`` takes the error from the replicates' spread (randomised QMC)."""
        means = self._replicate_sum / np.maximum(self._replicate_count, 1)
        if randomised:
            value = float(means.mean())
            error = float(np.std(means, ddof=1) / np.sqrt(means.size))
            return Estimate(value, error, means.size - 1, tuple(float(m) for m in means), self.informative())
        n = self._count
        error = float(np.sqrt(self._square / (n - 1) / n)) if n > 1 else 0.0
        return Estimate(
            float(self._mean), error, max(n - 1, 1), tuple(float(m) for m in means), self.informative()
        )


MIN_INFORMATIVE = 30.0
"""Fewest samples that must carry the variance (``ReplicatedMean.informative``) for the sample's
own standard error to be trusted."""


def trustworthy(estimate: Estimate, width: float, samples: int) -> Estimate:
    """``estimate`` with an error bar that can be trusted, or NotComputableError.

    When fewer than MIN_INFORMATIVE samples carry the variance (a rare event drives the payoff, or
    one heavy path dominates), the sample's standard error is itself a guess from a handful of
    paths. If the residual is bounded, of range ``width``, each such path moves the mean by at most
    width / samples, and a count of such paths observed as c may well be c + 3 (the rule of three
    for c = 0), so the error is widened to at least width sqrt(c + 3) / samples. An unbounded
    residual is refused.
    """
    count = estimate.informative
    if count >= MIN_INFORMATIVE:
        return estimate
    if math.isfinite(width):
        floor = width * math.sqrt(count + 3.0) / samples
        return replace(estimate, std_error=max(estimate.std_error, floor))
    needed = int(MIN_INFORMATIVE / max(count, 1e-9) * samples)
    raise NotComputableError(
        "mc.paths",
        f"only about {count:.3g} of the paths carry this payoff's variation (a rare event or a heavy "
        f"tail), so its error bar cannot be trusted; use about {needed:.2g} paths or more",
    )
