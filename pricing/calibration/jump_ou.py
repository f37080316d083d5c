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

``method="robust"`` is a threshold alternative that never sits on such bounds: fit the Gaussian
OU (and f) by exact MLE on the steps that are not jumps, call a step a jump when its standardised
residual exceeds 3, and repeat until the set of jumps settles. Exponential jump sizes are
memoryless, so the detected excesses over the threshold c estimate jump_mean directly, and the
jump rate is the detected rate divided by P(J > c) = exp(-c / jump_mean), capped at one jump in ten
steps like the likelihood's search. Standard errors: the
Gaussian part's from its likelihood, jump_rate's from the Poisson count, jump_mean's from the
exponential mean (each treating the jump set as given).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from pricing.calibration.diagnostics import residual_diagnostics
from pricing.calibration.gaussian import ar1_start, normal_loglik
from pricing.calibration.mle import Parameter, ou_transition
from pricing.calibration.problem import Estimate, block, estimate, to_calibration
from pricing.calibration.result import Calibration
from pricing.calibration.seasonality import SeasonalDesign, least_squares
from pricing.models import JumpOU

LOG_2PI = float(np.log(2.0 * np.pi))
MAX_JUMP_PROBABILITY = 0.1
MAX_JUMP_MEAN = 0.5
JUMP_THRESHOLD = 3.0
"""Standardised residual above which the robust method calls a step a jump."""


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
    method: str = "mle",
    profile: bool = False,
) -> Calibration:
    """Fit (kappa, vol, jump_rate, jump_mean) and f(t) by the step mixture or the robust threshold method."""
    if method not in ("mle", "robust"):
        raise ValueError(f"unknown jump_ou method {method!r}: use 'mle' or 'robust'")
    y, dt, matrix = np.log(prices), np.diff(t), design.matrix(t)
    names = design.names

    def mixture(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        p_jump = -np.expm1(-p["jump_rate"] * dt)
        return _mixture(_innovations(p, y, dt, matrix, names), _variance(p, dt), p_jump, p["jump_mean"])

    def loglik(p: Mapping[str, float]) -> tuple[float, NDArray[np.float64]]:
        if -np.expm1(-p["jump_rate"] * dt.max()) > MAX_JUMP_PROBABILITY or p["jump_mean"] > MAX_JUMP_MEAN:
            return -np.inf, np.full(len(dt), np.nan)
        return mixture(p)

    beta, resid = least_squares(design, t, y)
    kappa0, _ = ar1_start(t, resid)
    phi0, var0 = ou_transition(dt, kappa0, 1.0)
    e = resid[1:] - phi0 * resid[:-1]
    scale = 1.4826 * float(np.median(np.abs(e - np.median(e)))) or float(np.std(e)) or 1e-4
    start = {
        "kappa": kappa0,
        "vol": scale / float(np.sqrt(np.median(var0))),
        **dict(zip(names, beta, strict=True)),
    }
    if method == "robust":
        est = _robust(start, y, dt, matrix, names, fixed, mixture, profile)
    else:
        jumps = e[e > 4.0 * scale]
        start["jump_rate"] = min(
            max(len(jumps), 1) / float(t[-1] - t[0]), 0.5 * MAX_JUMP_PROBABILITY / dt.max()
        )
        start["jump_mean"] = min(float(jumps.mean()) if len(jumps) else 3.0 * scale, 0.5 * MAX_JUMP_MEAN)
        parameters = [
            Parameter("kappa", "positive"),
            Parameter("vol", "positive"),
            Parameter("jump_rate", "positive"),
            Parameter("jump_mean", "positive"),
            *map(Parameter, names),
        ]
        est = estimate(parameters, start, loglik, fixed, profile)
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
    if method == "mle" and (
        v["jump_mean"] > 0.99 * MAX_JUMP_MEAN or top_probability > 0.99 * MAX_JUMP_PROBABILITY
    ):
        notes.append(
            "the jump parameters sit on their bounds: the data are not a diffusion with rare "
            "upward jumps (try method='robust', schwartz1f, or daily resampling)"
        )
    label = "jump-mixture MLE" if method == "mle" else "robust threshold fit"
    return to_calibration(
        model,
        est,
        prices,
        as_of,
        f"{label} (jump_reversion = kappa)",
        log_scale=True,
        season_errors=season_errors,
        notes=notes,
    )


def _innovations(
    p: Mapping[str, float], y: NDArray, dt: NDArray, matrix: NDArray, names: list[str]
) -> NDArray:
    """One-step innovations z(t+dt) - phi z(t) of the deviation z = ln S - f(t)."""
    z = y - matrix @ np.array([p[n] for n in names])
    return z[1:] - np.exp(-p["kappa"] * dt) * z[:-1]


def _variance(p: Mapping[str, float], dt: NDArray) -> NDArray:
    return ou_transition(dt, p["kappa"], p["vol"])[1]


def _robust(
    start: dict[str, float],
    y: NDArray,
    dt: NDArray,
    matrix: NDArray,
    names: list[str],
    fixed: Mapping[str, float],
    mixture: Callable[[Mapping[str, float]], tuple[float, NDArray[np.float64]]],
    profile: bool = False,
) -> Estimate:
    """The threshold method of the module docstring, packaged like a likelihood estimate."""
    gaussian = [Parameter("kappa", "positive"), Parameter("vol", "positive"), *map(Parameter, names)]
    held = {k: v for k, v in fixed.items() if k not in ("jump_rate", "jump_mean")}
    keep = np.ones(len(dt), dtype=bool)
    for _ in range(20):
        mask = keep

        def loglik(
            p: Mapping[str, float], mask: NDArray[np.bool_] = mask
        ) -> tuple[float, NDArray[np.float64]]:
            return normal_loglik(_innovations(p, y, dt, matrix, names)[mask], _variance(p, dt)[mask])

        diffusion = estimate(gaussian, start, loglik, held)
        start = {**start, **diffusion.values}
        scaled = _innovations(start, y, dt, matrix, names) / np.sqrt(_variance(start, dt))
        keep = scaled <= JUMP_THRESHOLD
        if np.array_equal(keep, mask):
            break
    if profile:  # intervals of the diffusion given the final jump set
        diffusion = estimate(gaussian, start, loglik, held, profile=True)
    sizes = _innovations(start, y, dt, matrix, names)[~keep]
    cut = JUMP_THRESHOLD * np.sqrt(_variance(start, dt)[~keep])
    span = float(np.sum(dt))
    count = len(sizes)
    jump_mean = (
        float(np.mean(sizes - cut))
        if count
        else JUMP_THRESHOLD * float(np.sqrt(np.median(_variance(start, dt))))
    )
    jump_mean = min(jump_mean, MAX_JUMP_MEAN)
    seen = float(np.mean(np.exp(-cut / jump_mean))) if count else 1.0
    # The exponential extrapolation to jumps below the threshold is capped like the likelihood's
    # search: at most one jump in ten steps.
    top_rate = -float(np.log1p(-MAX_JUMP_PROBABILITY)) / float(dt.max())
    values = {**start, "jump_rate": min(count / span / seen, top_rate), "jump_mean": jump_mean, **fixed}
    errors = {
        **diffusion.std_errors,
        "jump_rate": float(np.sqrt(count) / span / seen) if count else float("nan"),
        "jump_mean": jump_mean / float(np.sqrt(count)) if count else float("nan"),
    }
    for name in fixed:
        errors.pop(name, None)
    flags = dict(diffusion.flags)
    if not count:
        flags.update(
            {
                name: "is not identified: no step of the history exceeds the jump threshold "
                f"({JUMP_THRESHOLD} standard deviations), so the fit has no jumps to measure"
                for name in ("jump_rate", "jump_mean")
                if name not in fixed
            }
        )
    value, residuals = (
        mixture(values)
        if values["jump_rate"] > 0
        else normal_loglik(_innovations(values, y, dt, matrix, names), _variance(values, dt))
    )
    return Estimate(
        values=values,
        std_errors=errors,
        loglik=value,
        n_estimated=diffusion.n_estimated + sum(k not in fixed for k in ("jump_rate", "jump_mean")),
        covariance=diffusion.covariance,
        names=diffusion.names,
        converged=diffusion.converged and not flags,
        message=diffusion.message,
        diagnostics=residual_diagnostics(residuals),
        intervals=diffusion.intervals,
        flags=flags,
    )
