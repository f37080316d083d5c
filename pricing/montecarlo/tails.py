"""When can a sample of paths be trusted with an unbounded payoff?

A log-normal quantity X with Var ln X = v has E[X^2] / E[X]^2 = e^v: its mean is carried by paths
near z = sqrt(v) standard deviations out and its second moment, which the standard error estimates,
by paths near z = 2 sqrt(v). When n paths rarely reach 2 sqrt(v) (n N(-2 sqrt v) small) the sample
variance misses most of the true variance, the sample mean sits low, and a control variate on X drags
the estimate with it: a confident wrong number. With v = 50 (volatility 5 for two years) not one
path in 10^12 reaches the region that carries the mean.

So the Monte Carlo payoffs (``pricing.montecarlo.payoffs``, ``pricing.lsm``) are built to avoid
unbounded samples where they can: an option's bounded side (the put) is simulated and the other side
follows from parity with the exact forward. An unbounded quantity -- a linear control variate, a
call that has no exact forward to lean on, an early-exercise call -- is used only when its tail is
sampled, ``n N(-2 sqrt(v_eff)) >= TAIL_SAMPLES``, where v_eff = ln(E[X^2] / E[X]^2) (v itself for
log-normal models). An unbounded payoff that fails the test is refused (``NotComputableError``); a
control that fails it is left out.

v_eff per model, for X = F(tau, T) (the spot at tau when T = tau):

- gbm, schwartz1f, schwartz_smith: Var ln F(tau, T) = b(T - tau)' Sigma(tau) b(T - tau) (the
  Gaussian state of ``pricing.analytic.gaussian``);
- arithmetic_ou: 0 (normal tails: nothing heavy to miss);
- jump_ou: the diffusion's e^(-2 kappa d) vol^2 h(2 kappa, tau) plus the jumps' L(2c) - 2 L(c),
  c = e^(-beta d), d = T - tau, L(a) = ln E[e^(a Y)] = (lambda / beta) ln(1 + a beta h(beta, tau)
  / (eta - a)) (Campbell's formula, eta = 1 / jump_mean); infinite when eta <= 2 c, i.e. when
  jump_mean >= 1/2 makes the variance of S infinite.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from pricing.analytic.gaussian import gaussian_state
from pricing.models import JumpOU, Model
from pricing.models.gaussian import decay_integral
from pricing.request import NotComputableError

TAIL_SAMPLES = 10.0
"""Expected number of paths beyond 2 sqrt(v_eff) standard deviations needed to trust a tail."""


def relative_second_moment(model: Model, tau: float, maturities: ArrayLike) -> float:
    """The largest v_eff = ln(E[X^2] / E[X]^2) over X = F(tau, T), T in ``maturities``."""
    times = np.atleast_1d(np.asarray(maturities, dtype=float))
    state = gaussian_state(model)
    if state is not None:
        if not state.lognormal:
            return 0.0
        loadings = state.loadings(tau, times)
        sigma = state.covariance(tau)[0]
        return float(np.max(np.einsum("ij,jk,ik->i", loadings, sigma, loadings)))
    assert isinstance(model, JumpOU)
    d = times - tau
    diffusion = np.exp(-2.0 * model.kappa * d) * model.vol**2 * float(decay_integral(2.0 * model.kappa, tau))
    if model.jump_rate == 0.0 or tau == 0.0:
        return float(np.max(diffusion))
    c = np.exp(-model.jump_reversion * d)
    eta = 1.0 / model.jump_mean
    if np.any(eta <= 2.0 * c):
        return math.inf
    beta = model.jump_reversion
    reach = beta * float(decay_integral(beta, tau))

    def log_mgf(a: np.ndarray) -> np.ndarray:
        return model.jump_rate / beta * np.log1p(a * reach / (eta - a))

    return float(np.max(diffusion + log_mgf(2.0 * c) - 2.0 * log_mgf(c)))


def spot_moment(model: Model, times: ArrayLike) -> float:
    """The largest v_eff of the spot S(t) = F(t, t) over ``times`` (vectorised over the times)."""
    t = np.atleast_1d(np.asarray(times, dtype=float))
    state = gaussian_state(model)
    if state is not None:
        return float(np.max(state.covariance(t).sum(axis=(1, 2)))) if state.lognormal else 0.0
    assert isinstance(model, JumpOU)
    diffusion = model.vol**2 * decay_integral(2.0 * model.kappa, t)
    if model.jump_rate == 0.0:
        return float(np.max(diffusion))
    eta = 1.0 / model.jump_mean
    if eta <= 2.0:
        return math.inf
    beta = model.jump_reversion
    reach = beta * decay_integral(beta, t)

    def log_mgf(a: float) -> np.ndarray:
        return model.jump_rate / beta * np.log1p(a * reach / (eta - a))

    return float(np.max(diffusion + log_mgf(2.0) - 2.0 * log_mgf(1.0)))


def tail_sampled(v_eff: float, paths: int) -> bool:
    """Whether ``paths`` paths reach the region that carries an unbounded payoff's variance."""
    return math.isfinite(v_eff) and paths * float(ndtr(-2.0 * math.sqrt(v_eff))) >= TAIL_SAMPLES


def require_sampled_tail(v_eff: float, paths: int, what: str) -> None:
    """Refuse (NotComputableError) to value the unbounded ``what`` when its tail cannot be sampled."""
    if tail_sampled(v_eff, paths):
        return
    if not math.isfinite(v_eff):
        raise NotComputableError(
            "model.jump_mean",
            f"with jump_mean >= 0.5 the spot has infinite variance, so Monte Carlo cannot give {what} "
            "a trustworthy error bar; value the bounded side (a put or floor) or use jump_mean < 0.5",
        )
    needed = TAIL_SAMPLES / max(float(ndtr(-2.0 * math.sqrt(v_eff))), 1e-300)
    raise NotComputableError(
        "model",
        f"Monte Carlo cannot value {what} reliably: the log-price variance reaches {v_eff:.3g}, so the "
        f"paths that carry its value are too rare to sample with {paths} paths (about {needed:.2g} "
        "needed); value the bounded side (a put or floor), or shorten the horizon or lower the "
        "volatility",
    )
