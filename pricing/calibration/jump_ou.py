"""jump_ou by a jump-mixture likelihood.

Over one step dt the deviation z = ln S - f(t) = X + Y moves as

    z(t+dt) = phi z(t) + e,  e ~ N(0, v)            with probability exp(-jump_rate dt)
                             e ~ N(0, v) + Exp(jump_mean) otherwise,

with phi = exp(-kappa dt) and v the exact OU variance. This is the exact law when the jump part
reverts at the diffusion's speed (jump_reversion = kappa, which this fit assumes and returns) and at
most one jump arrives per step, so it is accurate when jump_rate * dt is small (hourly or daily data
and a few jumps a week); the jump's partial decay inside the step is neglected. With a common
reversion speed only X + Y matters, so the fitted model carries the whole deviation in x0 (y0 = 0).

The search is confined to where this approximation and the model make sense: a jump probability of
at most 10% per step and a mean log-jump of at most 0.5 (at 1, E[S] is infinite and the model has
no forward; near it, forwards explode). The bound on the jump probability matters on step-like
posted prices, which repeat for hours: without it the likelihood grows without limit by explaining
the repeats as a diffusion of vanishing variance and every move as a jump.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from pricing.calibration.gaussian import ar1_start
from pricing.calibration.mle import Parameter, ou_transition
from pricing.calibration.problem import block, estimate, to_calibration
from pricing.calibration.result import Calibration
from pricing.calibration.seasonality import SeasonalDesign, least_squares
from pricing.models import JumpOU

LOG_2PI = float(np.log(2.0 * np.pi))
MAX_JUMP_PROBABILITY = 0.1
MAX_JUMP_MEAN = 0.5


def _mixture(
    e: NDArray[np.float64], var: NDArray[np.float64], p_jump: NDArray[np.float64], eta: float
) -> tuple[float, NDArray[np.float64]]:
    """Log-likelihood of the step mixture and its probability-integral residuals (normal scores)."""
    s = np.sqrt(var)
    with np.errstate(all="ignore"):  # extreme trial parameters give -inf/NaN, rejected by the optimiser
        return _mixture_terms(e, var, s, p_jump, eta)


def _mixture_terms(
    e: NDArray[np.float64],
    var: NDArray[np.float64],
    s: NDArray[np.float64],
    p_jump: NDArray[np.float64],
    eta: float,
) -> tuple[float, NDArray[np.float64]]:
    log_normal = -0.5 * (LOG_2PI + np.log(var) + e * e / var)
    # Density of N(0, var) + Exp(mean eta): the exponentially modified Gaussian.
    log_emg = -np.log(eta) + var / (2.0 * eta**2) - e / eta + special.log_ndtr(e / s - s / eta)
    total = np.logaddexp(np.log1p(-p_jump) + log_normal, np.log(p_jump) + log_emg)
    cdf_normal = special.ndtr(e / s)
    cdf_emg = cdf_normal - np.exp(np.clip(log_emg + np.log(eta), -700.0, 700.0))
    pit = np.clip((1.0 - p_jump) * cdf_normal + p_jump * cdf_emg, 1e-12, 1.0 - 1e-12)
    return float(np.sum(total)), stats.norm.ppf(pit)


def fit_jump_ou(
    t: NDArray[np.float64],
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    fixed: Mapping[str, float],
    design: SeasonalDesign,
) -> Calibration:
    """Fit (kappa, vol, jump_rate, jump_mean) and f(t) by the step-mixture likelihood above."""
    y, dt, matrix = np.log(prices), np.diff(t), design.matrix(t)
    names = design.names

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        p_jump = -np.expm1(-p["jump_rate"] * dt)
        if p_jump.max() > MAX_JUMP_PROBABILITY or p["jump_mean"] > MAX_JUMP_MEAN:
            return -np.inf, np.full(len(dt), np.nan)
        z = y - matrix @ np.array([p[n] for n in names])
        phi, var = ou_transition(dt, p["kappa"], p["vol"])
        return _mixture(z[1:] - phi * z[:-1], var, p_jump, p["jump_mean"])

    beta, resid = least_squares(design, t, y)
    kappa0, _ = ar1_start(t, resid)
    phi0, var0 = ou_transition(dt, kappa0, 1.0)
    e = resid[1:] - phi0 * resid[:-1]
    scale = 1.4826 * float(np.median(np.abs(e - np.median(e)))) or float(np.std(e)) or 1e-4
    jumps = e[e > 4.0 * scale]
    span = float(t[-1] - t[0])
    start = {
        "kappa": kappa0,
        "vol": scale / float(np.sqrt(np.median(var0))),
        "jump_rate": min(max(len(jumps), 1) / span, 0.5 * MAX_JUMP_PROBABILITY / float(dt.max())),
        "jump_mean": min(float(jumps.mean()) if len(jumps) else 3.0 * scale, 0.5 * MAX_JUMP_MEAN),
        **dict(zip(names, beta, strict=True)),
    }
    parameters = [
        Parameter("kappa", "positive"),
        Parameter("vol", "positive"),
        Parameter("jump_rate", "positive"),
        Parameter("jump_mean", "positive"),
        *map(Parameter, names),
    ]
    est = estimate(parameters, start, loglik, fixed)
    v = est.values
    seasonality, season_errors = design.seasonality(np.array([v[n] for n in names]), block(est, names))
    model = JumpOU(
        x0=float(y[-1] - seasonality(0.0)),
        kappa=v["kappa"],
        vol=v["vol"],
        y0=0.0,
        jump_rate=v["jump_rate"],
        jump_mean=v["jump_mean"],
        jump_reversion=v["kappa"],
        seasonality=seasonality,
    )
    notes = ["jump_reversion is set equal to kappa by the fit"]
    top_probability = float(np.max(-np.expm1(-v["jump_rate"] * dt)))
    if v["jump_mean"] > 0.99 * MAX_JUMP_MEAN or top_probability > 0.99 * MAX_JUMP_PROBABILITY:
        notes.append(
            "the jump parameters sit on their bounds: the data are not a diffusion with rare "
            "upward jumps (try schwartz1f, or daily resampling)"
        )
    return to_calibration(
        model,
        est,
        prices,
        as_of,
        "jump-mixture MLE (jump_reversion = kappa)",
        log_scale=True,
        season_errors=season_errors,
        notes=notes,
    )
