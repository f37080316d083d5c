"""Exact values for every (model, instrument) pair whose law is known in closed form.

- forwards on every model: discounted mean of the model forwards F(0, t_i);
- European options on the spot, a forward or a swap under the Gaussian models: Black-76 or
  Bachelier on the law of the underlying at expiry (a swap under a mean-reverting log model is a
  sum of log-normals, valued by exact quadrature in pricing.analytic.basket);
- geometric Asians under the log-normal models and arithmetic Asians under arithmetic_ou, whose
  averages are log-normal and normal respectively;
- caps and floors under the Gaussian models, as means of discounted Black or Bachelier caplets.
Derivations are in docs/pricing.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pricing.analytic.basket import basket_option
from pricing.analytic.formulas import bachelier, black
from pricing.analytic.gaussian import GaussianState, gaussian_state
from pricing.instruments import (
    Asian,
    Bermudan,
    Cap,
    European,
    Forward,
    ForwardUnderlying,
    Instrument,
    SpotUnderlying,
    Swing,
)
from pricing.models import ArithmeticOU, Model
from pricing.models.gaussian import average_variance
from pricing.request import MODEL_CLASSES


def model_name(model: Model) -> str:
    """The request's name for a model type (for messages)."""
    return next(name for name, cls in MODEL_CLASSES.items() if isinstance(model, cls))


def closed_form_gap(model: Model, instrument: Instrument) -> str | None:
    """None when an exact formula values ``instrument`` under ``model``; otherwise why not."""
    if isinstance(instrument, Forward):
        return None
    if isinstance(instrument, Bermudan | Swing):
        return 'early exercise has no closed form (use "auto" for LSM)'
    state = gaussian_state(model)
    if state is None:
        return f'the law of {model_name(model)} is not Gaussian; only forwards are exact (use "mc")'
    if isinstance(instrument, Asian):
        wanted = "geometric" if state.lognormal else "arithmetic"
        if instrument.average != wanted:
            return (
                f"only {wanted} averages have an exact law under {model_name(model)} "
                f'(use "mc" for {instrument.average} averages)'
            )
    return None


def price_closed_form(model: Model, instrument: Instrument, rate: float) -> float:
    """The exact present value; callers check closed_form_gap first."""
    if isinstance(instrument, Forward):
        window = float(np.mean(model.forward(np.asarray(instrument.fixings))))
        return float(np.exp(-rate * instrument.payment) * (window - instrument.strike))
    state = gaussian_state(model)
    assert state is not None
    assert not isinstance(instrument, Bermudan | Swing)
    if isinstance(instrument, European):
        return float(np.exp(-rate * instrument.expiry) * _european(state, instrument))
    if isinstance(instrument, Asian):
        return float(np.exp(-rate * instrument.payment) * _asian(state, instrument))
    return _cap(state, instrument, rate)


def underlying_times(instrument: European) -> NDArray[np.float64]:
    """The maturities whose forwards make the option's underlying (the expiry, for the spot)."""
    u = instrument.underlying
    if isinstance(u, SpotUnderlying):
        return np.array([instrument.expiry])
    if isinstance(u, ForwardUnderlying):
        return np.array([u.maturity])
    return np.asarray(u.fixings, dtype=float)


def _european(state: GaussianState, instrument: European) -> float:
    """Undiscounted E[(U - K)^+] (or put), U the mean of F(tau, t_i) over the underlying's times."""
    tau, strike = instrument.expiry, instrument.strike
    times = underlying_times(instrument)
    forwards = state.model.forward(times)
    weights = np.full(len(times), 1.0 / len(times))
    loadings = state.loadings(tau, times)
    sigma = state.covariance(tau)[0]
    if not state.lognormal:
        swap_loading = weights @ loadings
        variance = float(swap_loading @ sigma @ swap_loading)
        return float(bachelier(instrument.kind, weights @ forwards, strike, variance))
    if len(times) == 1:  # one log-normal forward: Black, puts by their own formula
        variance = float(loadings[0] @ sigma @ loadings[0])
        return float(black(instrument.kind, forwards[0], strike, variance))
    eigenvalues, eigenvectors = np.linalg.eigh(sigma)
    root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))  # sigma = root root'
    return basket_option(instrument.kind, weights * forwards, loadings @ root, strike)


def _spot_law(model: Model) -> Callable[[ArrayLike, ArrayLike], NDArray[np.float64]]:
    """Cov(ln S(t), ln S(u)), or Cov(S(t), S(u)) for the normal model."""
    return model.covariance if isinstance(model, ArithmeticOU) else model.log_covariance


def _asian(state: GaussianState, instrument: Asian) -> float:
    times = np.asarray(instrument.fixings, dtype=float)
    model = state.model
    variance = average_variance(_spot_law(model), times)
    if not state.lognormal:
        return float(bachelier(instrument.kind, np.mean(model.forward(times)), instrument.strike, variance))
    # G = exp(mean of ln S(t_i)) is log-normal: E[G] = exp(E[ln G] + Var[ln G] / 2).
    geometric_forward = np.exp(float(np.mean(model.log_mean(times))) + 0.5 * variance)
    return float(black(instrument.kind, geometric_forward, instrument.strike, variance))


def _cap(state: GaussianState, instrument: Cap, rate: float) -> float:
    times = np.asarray(instrument.fixings, dtype=float)
    forwards = state.model.forward(times)
    formula = black if state.lognormal else bachelier
    caplets = formula(instrument.kind, forwards, instrument.strike, _spot_law(state.model)(times, times))
    return float(np.mean(np.exp(-rate * times) * caplets))
