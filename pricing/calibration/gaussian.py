"""Models whose discrete observations have exact Gaussian transitions: gbm, schwartz1f, arithmetic_ou.

- gbm: log returns over dt are N((carry - vol^2/2) dt, vol^2 dt).
- schwartz1f: ln S is an OU process around alpha; the exact AR(1) step of :func:`ou_transition`.
- arithmetic_ou: S - f(t) is an OU process around 0, with f(t) estimated jointly.

Each likelihood conditions on the first observation and accepts irregular spacing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.calibration.mle import Parameter, ou_transition
from pricing.calibration.problem import block, estimate, to_calibration
from pricing.calibration.result import Calibration
from pricing.calibration.seasonality import SeasonalDesign, least_squares
from pricing.models import GBM, ArithmeticOU, Schwartz1F

LOG_2PI = float(np.log(2.0 * np.pi))


def normal_loglik(e: NDArray[np.float64], var: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """Log-likelihood of independent N(0, var) residuals ``e`` and the standardised residuals."""
    return float(-0.5 * np.sum(LOG_2PI + np.log(var) + e * e / var)), e / np.sqrt(var)


def ar1_start(t: NDArray[np.float64], x: NDArray[np.float64]) -> tuple[float, float]:
    """Moment estimates of (kappa, vol) for a demeaned OU sample (a starting point only)."""
    dt = float(np.median(np.diff(t)))
    lagged, current = x[:-1], x[1:]
    phi = float(np.clip(lagged @ current / max(lagged @ lagged, 1e-300), 0.01, 0.9999))
    kappa = -np.log(phi) / dt
    resid = current - phi * lagged
    vol = float(np.sqrt(max(np.var(resid), 1e-12) * 2.0 * kappa / (1.0 - phi**2)))
    return kappa, vol


def fit_gbm(
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: Mapping[str, float],
    profile: bool = False,
) -> Calibration:
    """GBM by exact maximum likelihood on log returns; ``carry`` is the fitted drift of S."""
    r, dt = np.diff(np.log(prices)), np.diff(t)

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        vol = p["vol"]
        return normal_loglik(r - (p["carry"] - 0.5 * vol**2) * dt, vol**2 * dt)

    vol0 = float(np.std(r / np.sqrt(dt))) or 1e-3
    start = {"carry": float(np.sum(r) / np.sum(dt)) + 0.5 * vol0**2, "vol": vol0}
    est = estimate([Parameter("carry"), Parameter("vol", "positive")], start, loglik, fixed, profile)
    model = GBM(spot=float(prices[-1]), vol=est.values["vol"], carry=est.values["carry"])
    return to_calibration(model, est, prices, as_of, "exact MLE on log returns", log_scale=True)


def fit_schwartz1f(
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: Mapping[str, float],
    profile: bool = False,
) -> Calibration:
    """Schwartz one-factor by exact maximum likelihood on the AR(1) of log prices."""
    y, dt = np.log(prices), np.diff(t)

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        phi, var = ou_transition(dt, p["kappa"], p["vol"])
        x = y - p["alpha"]
        return normal_loglik(x[1:] - phi * x[:-1], var)

    kappa0, vol0 = ar1_start(t, y - y.mean())
    parameters = [Parameter("kappa", "positive"), Parameter("alpha"), Parameter("vol", "positive")]
    start = {"kappa": kappa0, "alpha": float(y.mean()), "vol": vol0}
    est = estimate(parameters, start, loglik, fixed, profile)
    v = est.values
    model = Schwartz1F(spot=float(prices[-1]), kappa=v["kappa"], alpha=v["alpha"], vol=v["vol"])
    return to_calibration(model, est, prices, as_of, "exact MLE on the AR(1) of log prices", log_scale=True)


def fit_arithmetic_ou(
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: Mapping[str, float],
    design: SeasonalDesign,
    profile: bool = False,
) -> Calibration:
    """Arithmetic OU around f(t) by exact maximum likelihood, f's coefficients estimated jointly."""
    dt, matrix = np.diff(t), design.matrix(t)
    names = design.names

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        x = prices - matrix @ np.array([p[n] for n in names])
        phi, var = ou_transition(dt, p["kappa"], p["vol"])
        return normal_loglik(x[1:] - phi * x[:-1], var)

    beta, resid = least_squares(design, t, prices)
    kappa0, vol0 = ar1_start(t, resid)
    parameters = [Parameter("kappa", "positive"), Parameter("vol", "positive"), *map(Parameter, names)]
    start = {"kappa": kappa0, "vol": vol0, **dict(zip(names, beta, strict=True))}
    est = estimate(parameters, start, loglik, fixed, profile)
    coefficients = np.array([est.values[n] for n in names])
    seasonality, season_errors = design.seasonality(coefficients, block(est, names))
    x0 = float(prices[-1] - seasonality(0.0))
    model = ArithmeticOU(x0=x0, kappa=est.values["kappa"], vol=est.values["vol"], seasonality=seasonality)
    return to_calibration(
        model,
        est,
        prices,
        as_of,
        "exact MLE, f(t) estimated jointly",
        log_scale=False,
        season_errors=season_errors,
    )
