"""schwartz_smith by the Kalman filter on log prices, and on forward quotes when given.

State (chi, xi); over dt the exact transition is chi' = e^{-kappa dt} chi - lambda_chi (1 - e^{-kappa dt})
/ kappa + noise, xi' = xi + mu_xi dt + noise, with the exact joint Gaussian noise covariance. The
observation is ln S = chi + xi. The first observation is conditioned on with a diffuse long-run level
(chi at its stationary law, xi = ln S(0) - chi), so the likelihood starts at the second one.

From spot prices alone, ln S is an ARMA(1,1) with drift: it identifies kappa, sigma_chi, sigma_xi and
mu_xi only once rho is given, and never lambda_chi (a pricing-measure premium), so both are held
fixed (rho = 0, lambda_chi = 0 unless passed as options) and reported without standard errors.

Forward quotes (``forwards=`` of :func:`pricing.calibrate`) add observations ln F(t, t + tau), affine
in the state with the model's own closed-form constant; they pin the term structure, so rho and
lambda_chi are then estimated, with one more parameter, ``sigma_forward``, the quotes' noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.calibration.gaussian import ar1_start
from pricing.calibration.kalman import kalman_regular, regular
from pricing.calibration.mle import Parameter
from pricing.calibration.problem import estimate, to_calibration
from pricing.calibration.result import Calibration
from pricing.models import SchwartzSmith
from pricing.series import HOURS_PER_YEAR, duration

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ForwardQuotes:
    """Log forward prices observed with the spot: at observation ``step[j]``, tenor ``tenor[j]`` years."""

    step: NDArray[np.int64]
    tenor: NDArray[np.float64]
    log_price: NDArray[np.float64]

    @classmethod
    def from_frame(cls, quotes: pd.DataFrame, index: pd.DatetimeIndex) -> ForwardQuotes:
        """Quotes with columns ``timestamp``, ``tenor`` (years or a duration such as ``"30D"``) and ``price``;
        each timestamp must be one of the series' (quotes at the first observation are not used)."""
        missing = {"timestamp", "tenor", "price"} - set(quotes.columns)
        if missing:
            raise ValueError(
                f"forward quotes need columns timestamp, tenor and price (missing {sorted(missing)})"
            )
        stamps = pd.DatetimeIndex(pd.to_datetime(quotes["timestamp"], utc=True))
        step = index.get_indexer(stamps)
        if (step < 0).any():
            raise ValueError(f"forward quote at {stamps[step < 0][0]} is not at an observation of the series")
        tenor = np.array([_years(value) for value in quotes["tenor"]])
        price = quotes["price"].to_numpy(dtype=float)
        if not (np.all(tenor >= 0.0) and np.all(np.isfinite(price)) and np.all(price > 0.0)):
            raise ValueError("forward quotes need non-negative tenors and positive finite prices")
        keep = step > 0
        order = np.argsort(step[keep], kind="stable")
        return cls(step[keep][order], tenor[keep][order], np.log(price[keep][order]))


def _years(tenor: object) -> float:
    if isinstance(tenor, str):
        return float(duration(tenor) / pd.Timedelta(hours=HOURS_PER_YEAR))
    return float(tenor)


def kalman(
    p: Mapping[str, float],
    dt: NDArray[np.float64],
    y: NDArray[np.float64],
    quotes: ForwardQuotes | None = None,
    vectorised: bool = True,
) -> tuple[float, NDArray[np.float64], tuple[float, float]]:
    """Log-likelihood, standardised spot innovations and the last filtered state (chi, xi).

    Forward quotes are processed after the spot at their step, one at a time (exact, since their
    errors are independent): ln F = e^{-kappa tau} chi + xi + A(tau) + N(0, sigma_forward^2), with
    A(tau) = ln F(0, tau) of the model started at chi = xi = 0. Spot prices alone on a regular grid
    go through the array form of :mod:`pricing.calibration.kalman` (the same numbers, no Python loop
    over observations) unless ``vectorised`` is False; otherwise this loop runs.
    """
    if vectorised and (quotes is None or not len(quotes.step)) and regular(dt):
        result = kalman_regular(p, float(dt[0]), y)
        if result is not None:
            return result
    kappa, s_chi, s_xi, rho = p["kappa"], p["sigma_chi"], p["sigma_xi"], p["rho"]
    mu, lam = p["mu_xi"], p["lambda_chi"]
    v = s_chi * s_chi / (2.0 * kappa)
    chi, xi = 0.0, float(y[0])
    p11, p12, p22 = v, -v, v
    loglik = 0.0
    innovations = np.empty(len(dt))
    by_step: dict[int, list[tuple[float, float, float]]] = {}
    if quotes is not None and len(quotes.step):
        origin = SchwartzSmith(0.0, 0.0, kappa, s_chi, mu, s_xi, rho, lam)
        constant = np.log(origin.forward(quotes.tenor))
        loading = np.exp(-kappa * quotes.tenor)
        for k, step_index in enumerate(quotes.step.tolist()):
            by_step.setdefault(step_index, []).append((loading[k], constant[k], quotes.log_price[k]))
        noise = p["sigma_forward"] ** 2
    for i, (step, obs) in enumerate(zip(dt.tolist(), y[1:].tolist(), strict=True)):
        phi = math.exp(-kappa * step)
        decay = -math.expm1(-kappa * step)
        chi = phi * chi - lam * decay / kappa
        xi = xi + mu * step
        q11 = s_chi * s_chi * -math.expm1(-2.0 * kappa * step) / (2.0 * kappa)
        q12 = rho * s_chi * s_xi * decay / kappa
        p11, p12, p22 = phi * phi * p11 + q11, phi * p12 + q12, p22 + s_xi * s_xi * step
        nu = obs - chi - xi
        f = p11 + 2.0 * p12 + p22
        if not f > 0.0:  # extreme trial parameters (a profile's far end): no density, rejected
            return -math.inf, np.full(len(dt), np.nan), (chi, xi)
        k1, k2 = (p11 + p12) / f, (p12 + p22) / f
        chi, xi = chi + k1 * nu, xi + k2 * nu
        p11, p12, p22 = p11 - k1 * k1 * f, p12 - k1 * k2 * f, p22 - k2 * k2 * f
        loglik -= 0.5 * (LOG_2PI + math.log(f) + nu * nu / f)
        innovations[i] = nu / math.sqrt(f)
        for b, a, log_forward in by_step.get(i + 1, ()):
            nu = log_forward - b * chi - xi - a
            g1, g2 = b * p11 + p12, b * p12 + p22
            f = b * g1 + g2 + noise
            if not f > 0.0:
                return -math.inf, np.full(len(dt), np.nan), (chi, xi)
            k1, k2 = g1 / f, g2 / f
            chi, xi = chi + k1 * nu, xi + k2 * nu
            p11, p12, p22 = p11 - k1 * k1 * f, p12 - k1 * k2 * f, p22 - k2 * k2 * f
            loglik -= 0.5 * (LOG_2PI + math.log(f) + nu * nu / f)
    return loglik, innovations, (chi, xi)


def fit_schwartz_smith(
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: Mapping[str, float],
    quotes: ForwardQuotes | None = None,
    profile: bool = False,
) -> Calibration:
    """Maximum likelihood through the Kalman filter (see the module docstring for what is held fixed)."""
    y, dt = np.log(prices), np.diff(t)
    with_forwards = quotes is not None and len(quotes.step) > 0
    held = dict(fixed) if with_forwards else {"rho": 0.0, "lambda_chi": 0.0, **fixed}

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        value, innovations, _ = kalman(p, dt, y, quotes)
        return value, innovations

    r = np.diff(y)
    span = float(t[-1] - t[0])
    kappa0, vol0 = ar1_start(t, y - np.linspace(y[0], y[-1], len(y)))
    start = {
        "kappa": kappa0,
        "sigma_chi": vol0,
        "mu_xi": float(r.sum() / span),
        "sigma_xi": max(abs(float(y[-1] - y[0])) / math.sqrt(span), 0.1 * vol0),
        "rho": 0.0,
        "lambda_chi": 0.0,
    }
    parameters = [
        Parameter("kappa", "positive"),
        Parameter("sigma_chi", "positive"),
        Parameter("mu_xi"),
        Parameter("sigma_xi", "positive"),
        Parameter("rho", "correlation"),
        Parameter("lambda_chi"),
    ]
    if with_forwards:
        parameters.append(Parameter("sigma_forward", "positive"))
        start["sigma_forward"] = 0.05
    est = estimate(parameters, start, loglik, held, profile)
    v = est.values
    _, _, (chi, xi) = kalman(v, dt, y, quotes)
    model = SchwartzSmith(
        chi0=chi,
        xi0=xi,
        kappa=v["kappa"],
        sigma_chi=v["sigma_chi"],
        mu_xi=v["mu_xi"],
        sigma_xi=v["sigma_xi"],
        rho=v["rho"],
        lambda_chi=v["lambda_chi"],
    )
    notes = [f"{name} held fixed at {held[name]}" for name in ("rho", "lambda_chi") if name in held]
    if with_forwards:
        notes.append(
            f"{len(quotes.step)} forward quotes; sigma_forward = {v['sigma_forward']:.4g} "
            f"(+/- {est.std_errors.get('sigma_forward', float('nan')):.2g}) is their log-price noise; "
            "the log-likelihood includes their density, so compare AIC only with fits to the same quotes"
        )
    method = "Kalman-filter MLE on log prices" + (" and forward quotes" if with_forwards else "")
    return to_calibration(model, est, prices, as_of, method, log_scale=True, notes=notes)
