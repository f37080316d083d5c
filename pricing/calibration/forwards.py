"""Calibration to a forward curve: move the model's level so that its forwards reprice quotes.

This is the market maker's daily step: the dynamics (speeds, volatilities, jumps) come from history,
the level from today's forward quotes. Each model has level parameters in which its (log) forward is
affine -- ``mean`` and ``trend`` of f(t) for the seasonal models, ``alpha`` for schwartz1f,
``xi0`` and ``mu_xi`` for schwartz_smith, ``carry`` for gbm -- and as many of them as there are
quotes (in that order) are solved for. Up to that count the quotes are repriced exactly; beyond it
the fit is least squares in relative error and the residuals are returned so the caller can see them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from pricing.models import GBM, ArithmeticOU, JumpOU, Model, Schwartz1F, SchwartzSmith

LEVELS: dict[type, tuple[str, ...]] = {
    GBM: ("carry",),
    Schwartz1F: ("alpha",),
    SchwartzSmith: ("xi0", "mu_xi"),
    ArithmeticOU: ("mean", "trend"),
    JumpOU: ("mean", "trend"),
}


def fixing_times(fixings: Sequence[float] | Mapping[str, Any]) -> NDArray[np.float64]:
    """FIXINGS of the pricing request: a list of times, or ``{"start", "end", "count"}``."""
    if isinstance(fixings, Mapping):
        count = int(fixings["count"])
        if count == 1:
            return np.array([float(fixings["end"])])
        return np.linspace(float(fixings["start"]), float(fixings["end"]), count)
    return np.asarray(fixings, dtype=float)


def _with_levels(model: Model, names: Sequence[str], values: Sequence[float]) -> Model:
    changes = dict(zip(names, values, strict=True))
    if isinstance(model, ArithmeticOU | JumpOU):
        return dataclasses.replace(model, seasonality=dataclasses.replace(model.seasonality, **changes))
    return dataclasses.replace(model, **changes)


def _levels_of(model: Model, names: Sequence[str]) -> list[float]:
    holder = model.seasonality if isinstance(model, ArithmeticOU | JumpOU) else model
    return [float(getattr(holder, name)) for name in names]


def fit_to_forwards(model: Model, quotes: Sequence[Mapping[str, Any]]) -> tuple[Model, NDArray[np.float64]]:
    """Shift the model's level to reprice forward quotes ``{"fixings": FIXINGS, "price": p}``.

    Returns the shifted model and the relative repricing errors (zeros up to solver tolerance when
    there are no more quotes than level parameters).
    """
    if not quotes:
        raise ValueError("give at least one forward quote")
    windows = [fixing_times(q["fixings"]) for q in quotes]
    prices = np.array([float(q["price"]) for q in quotes])
    if np.any(~np.isfinite(prices) | (prices <= 0.0)):
        raise ValueError("forward quotes must be positive and finite")
    names = LEVELS[type(model)][: len(quotes)]

    def errors(levels: NDArray[np.float64]) -> NDArray[np.float64]:
        shifted = _with_levels(model, names, levels)
        return np.array([shifted.forward(w).mean() for w in windows]) / prices - 1.0

    solution = optimize.least_squares(errors, _levels_of(model, names), xtol=1e-14, ftol=1e-14, gtol=1e-14)
    return _with_levels(model, names, solution.x), errors(solution.x)
