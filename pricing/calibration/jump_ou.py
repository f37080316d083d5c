"""jump_ou by a robust threshold fit (the default: jump_reversion free) or a jump-mixture likelihood
(``method="mle"``: jump_reversion = kappa).

The jump-mixture likelihood. Over one step dt the deviation z = ln S - f(t) = X + Y moves as

    z(t+dt) = phi z(t) + e,  e ~ N(0, v)            with probability exp(-jump_rate dt)
                             e ~ N(0, v) + Exp(jump_mean) otherwise,

with phi = exp(-kappa dt) and v the exact OU variance. This is the exact law when the jump part
reverts at the diffusion's speed (jump_reversion = kappa, which this method assumes and returns) and at
most one jump arrives per step, so it is accurate when jump_rate * dt is small (hourly or daily data
and a few jumps a week); the jump's partial decay inside the step is neglected. With a common
reversion speed only X + Y matters, so the fitted model carries the whole deviation in x0 (y0 = 0).

The search is confined to where this approximation and the model make sense: a jump probability of
at most 10% per step and a mean log-jump of at most 0.5 (at 1, E[S] is infinite and the model has
no forward; near it, forwards explode). The bound on the jump probability matters on step-like
posted prices, which repeat for hours: without it the likelihood grows without limit by explaining
the repeats as a diffusion of vanishing variance and every move as a jump.

The robust threshold fit (``method="robust"``, the default of :func:`pricing.calibrate`) estimates
the jump reversion beta apart from kappa: a mixture likelihood with beta != kappa is no longer a
function of z alone (X and Y revert at different speeds), and would need a filter over Y. Given a
set of jump steps, z = X + Y with Y the sum of one jump per step, each decaying at beta from its
step's end; the innovations of the OU X are linear in the jump sizes, so the exact Gaussian
likelihood of X, with the sizes integrated out (flat prior), is maximised over (kappa, vol, beta,
f). A step is a jump when its standardised innovation (its own jump added back) exceeds 3; repeat
until the set of jumps settles. Exponential jump sizes are memoryless, so the detected excesses over
the threshold c estimate jump_mean directly (divided by the mean decay (1 - e^(-beta dt)) / (beta
dt) of a jump arriving uniformly in its step), and the jump rate is the detected rate divided by P(J
> c) = exp(-c / jump_mean), capped at one jump in ten steps like the likelihood's search (a value on
that cap, or a mean log-jump on the 0.5 bound, is flagged). Standard errors: kappa's, vol's, beta's
and f's from the profile likelihood's curvature, jump_rate's from the Poisson count, jump_mean's
from the exponential mean; 95% intervals: profile likelihood for kappa, vol, beta and f, exact chi-
square intervals for the count and the mean excess (all treating the jump set as given). Without
detected jumps beta is not identified: it is set to kappa and flagged. The reported log-likelihood
is the step mixture above applied to the innovations of X (Y's fitted path removed): an
approximation for AIC/BIC, not a filtered likelihood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    method: str = "robust",
    profile: bool = False,
) -> Calibration:
    """Fit (kappa, vol, jump_reversion, jump_rate, jump_mean) and f(t) by the robust threshold method,
    or all but jump_reversion (= kappa) by the step mixture (``method="mle"``)."""
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
        est = _robust(start, y, t, matrix, names, fixed, profile)
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
        jump_reversion=v["jump_reversion"] if method == "robust" else v["kappa"],
        seasonality=seasonality,
    )
    notes = (
        ["jump_reversion is set equal to kappa by the jump-mixture likelihood (method='robust' estimates it)"]
        if method == "mle"
        else []
    )
    if method == "robust" and {"jump_rate", "jump_mean"} & set(est.intervals):
        notes.append(
            "the intervals of jump_rate and jump_mean are exact chi-square intervals of the detected "
            "jumps' count and mean excess; the others are likelihood-ratio intervals (all given the "
            "detected jump set)"
        )
    top_probability = float(np.max(-np.expm1(-v["jump_rate"] * dt)))
    if method == "mle" and (
        v["jump_mean"] > 0.99 * MAX_JUMP_MEAN or top_probability > 0.99 * MAX_JUMP_PROBABILITY
    ):
        notes.append(
            "the jump parameters sit on their bounds: the data are not a diffusion with rare "
            "upward jumps (try method='robust', schwartz1f, or daily resampling)"
        )
    label = "jump-mixture MLE (jump_reversion = kappa)" if method == "mle" else "robust threshold fit"
    return to_calibration(
        model,
        est,
        prices,
        as_of,
        label,
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


def _jump_paths(t: NDArray, steps: NDArray[np.intp], beta: float) -> NDArray:
    """Paths (observations x jumps) of unit jumps at the ends of ``steps``, decaying at ``beta``."""
    lag = t[:, None] - t[steps + 1][None, :]
    return np.exp(-beta * np.maximum(lag, 0.0)) * (lag >= 0.0)


def _with_jumps(
    p: Mapping[str, float],
    y: NDArray,
    t: NDArray,
    matrix: NDArray,
    names: list[str],
    steps: NDArray[np.intp],
) -> tuple[float, NDArray, NDArray]:
    """Restricted Gaussian log-likelihood of the OU X = z - Y, the detected jumps' sizes integrated out.

    Y is the sum of one jump per detected step, each decaying at jump_reversion from the end of its
    step; given the speeds, the innovations of X are linear in the sizes, which are therefore their
    weighted least-squares estimates. Returns the log-likelihood, the standardised residuals and the
    one-step innovations with each detected jump added back at its step (what the threshold tests).
    """
    dt = np.diff(t)
    phi, var = ou_transition(dt, p["kappa"], p["vol"])
    scale = np.sqrt(var)
    z = y - matrix @ np.array([p[n] for n in names])
    b = (z[1:] - phi * z[:-1]) / scale
    sizes = np.zeros(len(steps))
    restricted = 0.0
    if len(steps):
        paths = _jump_paths(t, steps, p["jump_reversion"])
        design = (paths[1:] - phi[:, None] * paths[:-1]) / scale[:, None]
        normal = design.T @ design
        sizes = np.linalg.solve(normal, design.T @ b)  # normal equations: a few jumps
        b = b - design @ sizes
        # Sizes integrated out under a flat prior (a restricted likelihood): the steps whose
        # innovations the sizes absorb no longer count as exact zeros towards vol.
        restricted = 0.5 * len(steps) * LOG_2PI - 0.5 * float(np.linalg.slogdet(normal)[1])
    innovations = b * scale
    innovations[steps] += sizes
    return float(-0.5 * np.sum(LOG_2PI + np.log(var) + b * b)) + restricted, b, innovations


def _reversion_start(
    start: Mapping[str, float],
    y: NDArray,
    t: NDArray,
    matrix: NDArray,
    names: list[str],
    steps: NDArray[np.intp],
) -> float:
    """The best jump reversion on a log grid from kappa / 4 to 20 per step (the optimiser's start)."""
    grid = np.geomspace(0.25 * start["kappa"], 20.0 / float(np.median(np.diff(t))), 25)
    fits = [_with_jumps({**start, "jump_reversion": b}, y, t, matrix, names, steps)[0] for b in grid]
    return float(grid[int(np.argmax(fits))])


def _robust(
    start: dict[str, float],
    y: NDArray,
    t: NDArray,
    matrix: NDArray,
    names: list[str],
    fixed: Mapping[str, float],
    profile: bool = False,
) -> Estimate:
    """The threshold method of the module docstring, packaged like a likelihood estimate."""
    dt = np.diff(t)
    held = {k: v for k, v in fixed.items() if k not in ("jump_rate", "jump_mean")}
    steps = np.array([], dtype=np.intp)
    for _ in range(20):
        found = steps
        gaussian = [Parameter("kappa", "positive"), Parameter("vol", "positive"), *map(Parameter, names)]
        held_now = held
        if len(found):
            gaussian.insert(2, Parameter("jump_reversion", "positive"))
            start.setdefault("jump_reversion", _reversion_start(start, y, t, matrix, names, found))
        else:  # no jumps: beta has nothing to act on
            held_now = {k: v for k, v in held.items() if k != "jump_reversion"}

        def loglik(
            p: Mapping[str, float], found: NDArray[np.intp] = found
        ) -> tuple[float, NDArray[np.float64]]:
            value, residuals, _ = _with_jumps(p, y, t, matrix, names, found)
            return value, residuals

        diffusion = estimate(gaussian, start, loglik, held_now)
        start = {**start, **diffusion.values}
        scaled = _with_jumps(start, y, t, matrix, names, found)[2] / np.sqrt(_variance(start, dt))
        steps = np.flatnonzero(scaled > JUMP_THRESHOLD)
        if np.array_equal(steps, found):
            break
    steps = found  # the set the diffusion was fitted with (the last one if 20 rounds did not settle)
    if profile:  # intervals of the diffusion and the jump reversion given the final jump set
        diffusion = estimate(gaussian, start, loglik, held_now, profile=True)
        start = {**start, **diffusion.values}  # the profile's optimiser may polish a flat ridge
    sizes = _with_jumps(start, y, t, matrix, names, steps)[2][steps]
    cut = JUMP_THRESHOLD * np.sqrt(_variance(start, dt)[steps])
    decays = start.get("jump_reversion", start["kappa"]) * dt[steps]
    # The exponential extrapolation to jumps below the threshold is capped like the likelihood's
    # search: at most one jump in ten steps.
    top_rate = -float(np.log1p(-MAX_JUMP_PROBABILITY)) / float(dt.max())
    typical = JUMP_THRESHOLD * float(np.sqrt(np.median(_variance(start, dt))))
    jumps = _jump_part(sizes - cut, cut, decays, float(np.sum(dt)), top_rate, typical)
    jump_names = [name for name in ("jump_rate", "jump_mean") if name not in fixed]
    values = {**start, **jumps.values, **fixed}
    jump_mean = values["jump_mean"]
    errors = {**diffusion.std_errors, **{name: jumps.errors[name] for name in jump_names}}
    for name in fixed:
        errors.pop(name, None)
    flags = {**diffusion.flags, **{name: jumps.flags[name] for name in jump_names if name in jumps.flags}}
    for name in flags:
        errors[name] = float("nan")
    intervals = dict(diffusion.intervals)
    if profile:
        intervals.update({name: jumps.intervals[name] for name in jump_names if name in jumps.intervals})
    if not len(sizes):
        values["jump_reversion"] = fixed.get("jump_reversion", values["kappa"])
        if "jump_reversion" not in fixed:
            flags["jump_reversion"] = "is not identified without jumps: set equal to kappa"
    # The reported likelihood is the step mixture of the innovations of X = z - Y, with Y the
    # detected jumps' fitted path (an approximation: the exact one needs a filter over Y).
    innovations = _with_jumps(values, y, t, matrix, names, steps)[2]
    value, residuals = (
        _mixture(innovations, _variance(values, dt), -np.expm1(-values["jump_rate"] * dt), jump_mean)
        if values["jump_rate"] > 0
        else normal_loglik(innovations, _variance(values, dt))
    )
    return Estimate(
        values=values,
        std_errors=errors,
        loglik=value,
        n_estimated=diffusion.n_estimated + len(jump_names),
        covariance=diffusion.covariance,
        names=diffusion.names,
        converged=diffusion.converged and not flags,
        message=diffusion.message,
        diagnostics=residual_diagnostics(residuals),
        intervals=intervals,
        flags=flags,
    )


@dataclass(frozen=True)
class _JumpPart:
    """jump_rate and jump_mean from the detected jumps: values, standard errors, 95% intervals, flags."""

    values: dict[str, float]
    errors: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    flags: dict[str, str]


def _jump_part(
    excess: NDArray[np.float64],
    cut: NDArray[np.float64],
    decays: NDArray[np.float64],
    span: float,
    top: float,
    typical: float,
) -> _JumpPart:
    """The jump intensity and mean size implied by the detected jumps' ``excess`` over the threshold
    ``cut``, with exact intervals given the jump set. Without jumps both are flagged as not
    identified (jump_rate 0, jump_mean the ``typical`` threshold, so that the model still prices).

    Exponential sizes are memoryless, so the excesses (divided by a jump's mean decay inside its step,
    (1 - e^(-beta dt)) / (beta dt) for a uniform arrival) are n draws of Exp(jump_mean): their sum is
    Gamma(n, jump_mean) and 2 sum / jump_mean is chi-square with 2n degrees of freedom. The count is
    Poisson with mean jump_rate * span * P(J > cut); Garwood's chi-square interval bounds it. Both are
    exact given the jump set (the jump_rate interval holds P(J > cut) at its estimate). A value at its
    cap (mean log-jump 0.5, one jump in ten steps) is flagged: the cap, not the data, set it.
    """
    count = len(excess)
    if not count:
        why = (
            "is not identified: no step of the history exceeds the jump threshold "
            f"({JUMP_THRESHOLD} standard deviations), so the fit has no jumps to measure"
        )
        nan = float("nan")
        return _JumpPart(
            {"jump_rate": 0.0, "jump_mean": typical},
            {"jump_rate": nan, "jump_mean": nan},
            {},
            {"jump_rate": why, "jump_mean": why},
        )
    mean_decay = float(np.mean(-np.expm1(-decays) / decays))
    raw_mean = float(np.mean(excess)) / mean_decay
    jump_mean = min(raw_mean, MAX_JUMP_MEAN)
    seen = float(np.mean(np.exp(-cut / jump_mean)))
    raw_rate = count / span / seen
    total = 2.0 * count * raw_mean
    mean_interval = (
        total / float(stats.chi2.ppf(0.975, 2 * count)),
        total / float(stats.chi2.ppf(0.025, 2 * count)),
    )
    exposure = span * seen
    rate_interval = (
        float(stats.chi2.ppf(0.025, 2 * count)) / 2.0 / exposure,
        float(stats.chi2.ppf(0.975, 2 * count + 2)) / 2.0 / exposure,
    )
    flags = {}
    if raw_mean >= MAX_JUMP_MEAN:
        flags["jump_mean"] = (
            f"= {MAX_JUMP_MEAN} is at its bound: the detected jumps' mean excess asks for "
            f"{raw_mean:.3g} (95% interval [{mean_interval[0]:.3g}, {mean_interval[1]:.3g}]); at a mean "
            "log-jump of 1 the model has no forward"
        )
    if raw_rate >= top:
        flags["jump_rate"] = (
            f"= {top:.4g} is at its cap of one jump in ten steps: the {count} detected jumps, "
            f"extrapolated below the threshold, ask for {raw_rate:.4g} a year; moves this frequent are "
            "not rare jumps"
        )
    return _JumpPart(
        {"jump_rate": min(raw_rate, top), "jump_mean": jump_mean},
        {"jump_rate": float(np.sqrt(count)) / exposure, "jump_mean": jump_mean / float(np.sqrt(count))},
        {"jump_rate": rate_interval, "jump_mean": mean_interval},
        flags,
    )
