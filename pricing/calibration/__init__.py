"""Calibration of the spot models to price series.

``calibrate(series, model)`` fits one model of :mod:`pricing.models` by maximum likelihood and
returns a :class:`Calibration` whose ``params`` are the pricing request's MODEL object, valued at
the last observation. See docs/backtesting.md for each method and its assumptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from pricing.calibration.forwards import fit_to_forwards
from pricing.calibration.gaussian import fit_arithmetic_ou, fit_gbm, fit_schwartz1f
from pricing.calibration.jump_ou import fit_jump_ou
from pricing.calibration.result import Calibration, model_to_request
from pricing.calibration.schwartz_smith import ForwardQuotes, fit_schwartz_smith
from pricing.calibration.seasonality import SeasonalDesign, fit_seasonality
from pricing.series import year_fractions

MODELS = ("gbm", "schwartz1f", "schwartz_smith", "arithmetic_ou", "jump_ou")
SEASONAL = ("arithmetic_ou", "jump_ou")
MIN_OBSERVATIONS = 10
DEFAULT_METHOD = {"jump_ou": "robust"}
"""Each model's default fit where it has two: jump_ou's robust fit frees the jump reversion."""


def calibrate(
    series: pd.Series,
    model: str = "jump_ou",
    *,
    trend: bool = False,
    periods: Sequence[float | str] = (),
    method: str | None = None,
    forwards: pd.DataFrame | None = None,
    intervals: bool = True,
    **fixed: float,
) -> Calibration:
    """Fit ``model`` to a price series (see :mod:`pricing.series`) by maximum likelihood.

    ``trend`` and ``periods`` (seasonal cycles, in years or as ``"1D"``-style durations) shape f(t)
    for the seasonal models. ``method`` picks jump_ou's fit: ``"robust"`` (its default), the threshold
    fit that estimates the jump reversion apart from kappa, or ``"mle"``, the jump-mixture likelihood
    that ties the two (see :mod:`pricing.calibration.jump_ou`); every other model is fitted by
    maximum likelihood (``"mle"``, its only method). ``forwards`` (schwartz_smith
    only) are forward quotes observed with the spot: a DataFrame with ``timestamp`` (one of the
    series'), ``tenor`` (years or a duration) and ``price``, filtered jointly with the spot (see
    :mod:`pricing.calibration.schwartz_smith`). Any other keyword holds that
    parameter fixed instead of estimating it, e.g. ``calibrate(s, "gbm", carry=0.0)`` for a driftless GBM.
    ``intervals`` adds 95% profile-likelihood intervals and flags parameters the data do not bound
    (:mod:`pricing.calibration.profile`); backtests, which fit hundreds of times, turn it off.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: use one of {', '.join(MODELS)}")
    if (trend or periods) and model not in SEASONAL:
        raise ValueError(f"{model} has no seasonality f(t); trend and periods apply to {', '.join(SEASONAL)}")
    method = method or DEFAULT_METHOD.get(model, "mle")
    if method != "mle" and model != "jump_ou":
        raise ValueError(
            f"method {method!r} applies to jump_ou only; {model} is fitted by maximum likelihood"
        )
    if forwards is not None and model != "schwartz_smith":
        raise ValueError(f"forward quotes enter the schwartz_smith filter only, not {model}")
    if len(series) < MIN_OBSERVATIONS:
        raise ValueError(f"need at least {MIN_OBSERVATIONS} observations to calibrate, got {len(series)}")
    prices = series.to_numpy(dtype=float)
    if not np.all(np.isfinite(prices) & (prices > 0.0)):
        raise ValueError("prices must be positive and finite")
    as_of = series.index[-1]
    t = np.asarray(year_fractions(series.index, as_of), dtype=float)
    if np.any(np.diff(t) <= 0.0):
        raise ValueError("timestamps must be strictly increasing")
    # The likelihoods multiply matrices of a few hundred by a few dozen: a pool of BLAS threads
    # costs more than it saves, and on a busy machine spinning threads made one robust jump_ou fit
    # 20-60 times slower (0.5 s -> 10-30 s CPU).
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(model, series, t, prices, as_of, fixed, trend, periods, method, forwards, intervals)


def _fit(
    model: str,
    series: pd.Series,
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: dict[str, float],
    trend: bool,
    periods: Sequence[float | str],
    method: str,
    forwards: pd.DataFrame | None,
    intervals: bool,
) -> Calibration:
    """The model's own fit, on checked inputs (see :func:`calibrate`)."""
    if model == "gbm":
        return fit_gbm(t, prices, as_of, fixed, intervals)
    if model == "schwartz1f":
        return fit_schwartz1f(t, prices, as_of, fixed, intervals)
    if model == "schwartz_smith":
        quotes = None if forwards is None else ForwardQuotes.from_frame(forwards, series.index)
        return fit_schwartz_smith(t, prices, as_of, fixed, quotes, intervals)
    design = SeasonalDesign.of(trend, periods)
    if model == "arithmetic_ou":
        return fit_arithmetic_ou(t, prices, as_of, fixed, design, intervals)
    return fit_jump_ou(t, prices, as_of, fixed, design, method, intervals)


__all__ = [
    "DEFAULT_METHOD",
    "MODELS",
    "Calibration",
    "calibrate",
    "fit_seasonality",
    "fit_to_forwards",
    "model_to_request",
]
