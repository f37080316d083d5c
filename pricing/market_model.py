"""The market model of a product: a selected, calibrated model brought to the present and to the curve.

An exchange calibrates a product's model now and then (:mod:`pricing.selection`) but marks it every
hour. Between calibrations the parameters stay and three things move:

- the **state**: the model is re-anchored (:func:`pricing.calibration.anchor.reanchor`) on the
  product's filtered index up to the valuation instant, so spot, ``x0`` or the Kalman state of
  ``chi``/``xi`` follow the index while speeds, volatilities and jumps do not;
- the **level of the curve**: when forwards have traded, their prices move the model's level
  parameters (:func:`pricing.calibration.forwards.fit_to_forwards`: ``mean`` then ``trend`` of f(t),
  ``alpha``, ``xi0`` then ``mu_xi``, ``carry``), so the curve goes through what the market paid;
- nothing else: the shape between the index and the traded forwards is the model's own. A
  Schwartz one-factor model has one level (``alpha``); when more than one window has traded it is
  written as the jump_ou without jumps whose f(t) is the constant ``alpha`` (the same law), so that
  a second traded window fits a trend of the long-run level instead of being averaged flat.

:func:`margin_vol` gives the volatility the exchange's lognormal margin rule needs from any model:
the annualised standard deviation of the log spot over the margin horizon, by exact simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pricing.calibration.anchor import reanchor
from pricing.calibration.forwards import fit_to_forwards
from pricing.calibration.result import model_to_request
from pricing.models import JumpOU, Schwartz1F, Seasonality
from pricing.request import parse_model

MARGIN_PATHS = 4000
"""Paths of the log-spot simulation behind :func:`margin_vol` (its relative error is about 1%)."""


def present(
    params: Mapping[str, Any],
    calibrated_at: pd.Timestamp,
    history: pd.Series,
    quotes: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The MODEL object ``params`` (valued at ``calibrated_at``) valued at the end of ``history``, its
    state re-anchored on ``history`` and its level moved to reprice the forward ``quotes``
    (``{"fixings": times from the end of history, "price": p}``; none leaves the level alone).

    Raises :class:`pricing.request.RequestError` when the result is not a valid model.
    """
    model = parse_model(dict(params), "model")
    if history.index[-1] < calibrated_at:
        raise ValueError("the history must end at or after the calibration")
    moved = reanchor(model, calibrated_at, history)
    if quotes:
        if isinstance(moved, Schwartz1F) and len(quotes) > 1:
            moved = _as_jump_ou(moved)
        moved, _ = fit_to_forwards(moved, list(quotes))
    result = model_to_request(moved)
    parse_model(result, "model")  # the shifted level must still be a model the engine accepts
    return result


def _as_jump_ou(model: Schwartz1F) -> JumpOU:
    """The same law as ``model``: ln S = alpha + X, X an OU from ln S(0) - alpha, and no jumps."""
    return JumpOU(
        x0=float(np.log(model.spot)) - model.alpha,
        kappa=model.kappa,
        vol=model.vol,
        y0=0.0,
        jump_rate=0.0,
        jump_mean=0.5,  # unused without jumps; any value the request accepts
        jump_reversion=model.kappa,
        seasonality=Seasonality(mean=model.alpha),
    )


def margin_vol(
    params: Mapping[str, Any], fixings: Sequence[float], horizon: float, *, seed: int = 0
) -> float:
    """Annualised volatility of the window forward under the MODEL object ``params``: the standard
    deviation of ln F(h, window) / F(0, window) over ``horizon`` h (years), divided by sqrt(h), where
    the window forward is the mean of the conditional forwards F(h, t_i) at the window's ``fixings``
    (times from now; those before h count at h, as in a swap underlying). Exact in law:
    :data:`MARGIN_PATHS` paths of the model's state to h with a fixed seed, then each path's forward.

    For a mean-reverting model a far window moves less than the spot (its sensitivity to the state
    decays with distance), so its margin is lower than the old rule, which scaled the index's hourly
    volatility as if every window moved with the last fixing.
    """
    if not horizon > 0:
        raise ValueError("the margin horizon must be positive")
    model = parse_model(dict(params), "model")
    maturities = np.maximum(np.asarray(fixings, dtype=float), horizon)
    rng = np.random.default_rng(seed)
    grid = np.array([horizon])
    state = model.evolve(grid, rng.standard_normal((model.n_factors, 1, MARGIN_PATHS)), rng)[:, -1, :]
    later = model.conditional_forward(horizon, state, maturities).mean(axis=0)
    today = float(model.forward(np.asarray(fixings, dtype=float)).mean())
    if today <= 0 or np.any(later <= 0):  # an arithmetic model near zero: relative moves, not logs
        return float(np.std(later / abs(today)) / np.sqrt(horizon))
    return float(np.std(np.log(later / today)) / np.sqrt(horizon))
