"""schwartz_smith by the Kalman filter on log prices.

State (chi, xi); over dt the exact transition is chi' = e^{-kappa dt} chi - lambda_chi (1 - e^{-kappa dt})
/ kappa + noise, xi' = xi + mu_xi dt + noise, with the exact joint Gaussian noise covariance. The
observation is ln S = chi + xi. The first observation is conditioned on with a diffuse long-run level
(chi at its stationary law, xi = ln S(0) - chi), so the likelihood starts at the second one.

From spot prices alone, ln S is an ARMA(1,1) with drift: it identifies kappa, sigma_chi, sigma_xi and
mu_xi only once rho is given, and never lambda_chi (a pricing-measure premium), so both are held
fixed (rho = 0, lambda_chi = 0 unless passed as options) and reported without standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.calibration.gaussian import ar1_start
from pricing.calibration.mle import Parameter
from pricing.calibration.problem import estimate, to_calibration
from pricing.calibration.result import Calibration
from pricing.models import SchwartzSmith

LOG_2PI = math.log(2.0 * math.pi)


def kalman(
    p: Mapping[str, float], dt: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], tuple[float, float]]:
    """Log-likelihood, standardised innovations and the last filtered state (chi, xi)."""
    kappa, s_chi, s_xi, rho = p["kappa"], p["sigma_chi"], p["sigma_xi"], p["rho"]
    mu, lam = p["mu_xi"], p["lambda_chi"]
    v = s_chi * s_chi / (2.0 * kappa)
    chi, xi = 0.0, float(y[0])
    p11, p12, p22 = v, -v, v
    loglik = 0.0
    innovations = np.empty(len(dt))
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
        k1, k2 = (p11 + p12) / f, (p12 + p22) / f
        chi, xi = chi + k1 * nu, xi + k2 * nu
        p11, p12, p22 = p11 - k1 * k1 * f, p12 - k1 * k2 * f, p22 - k2 * k2 * f
        loglik -= 0.5 * (LOG_2PI + math.log(f) + nu * nu / f)
        innovations[i] = nu / math.sqrt(f)
    return loglik, innovations, (chi, xi)


def fit_schwartz_smith(
    t: NDArray[np.float64], prices: NDArray[np.float64], as_of: pd.Timestamp, fixed: Mapping[str, float]
) -> Calibration:
    """Maximum likelihood through the Kalman filter; rho and lambda_chi fixed (see module docstring)."""
    y, dt = np.log(prices), np.diff(t)
    held = {"rho": 0.0, "lambda_chi": 0.0, **fixed}

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        value, innovations, _ = kalman(p, dt, y)
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
    est = estimate(parameters, start, loglik, held)
    v = est.values
    _, _, (chi, xi) = kalman(v, dt, y)
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
    notes = [f"{name} held fixed at {held[name]}" for name in ("rho", "lambda_chi") if name not in fixed]
    return to_calibration(
        model, est, prices, as_of, "Kalman-filter MLE on log prices", log_scale=True, notes=notes
    )
