"""A likelihood to maximise, with some parameters optionally held fixed, turned into a Calibration."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.calibration.diagnostics import residual_diagnostics
from pricing.calibration.mle import Parameter, maximise
from pricing.calibration.profile import DROP, Interval
from pricing.calibration.result import Calibration
from pricing.models import Model

MAX_LOG_ERROR = 2.0
"""A positive parameter whose log-scale standard error exceeds this (a 95% range of more than a factor
e^3.9 = 50 either way) is flagged as not identified: its delta-method standard error means nothing."""

LogLik = Callable[[Mapping[str, float]], tuple[float, NDArray[np.float64]]]
"""Parameters by name -> (log-likelihood, standardised one-step residuals)."""


@dataclass(frozen=True)
class Estimate:
    """Estimated (and fixed) parameter values by name, with standard errors of the estimated ones."""

    values: dict[str, float]
    std_errors: dict[str, float]
    loglik: float
    n_estimated: int
    covariance: NDArray[np.float64]
    names: tuple[str, ...]
    converged: bool
    message: str
    diagnostics: dict[str, float | int]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)


def estimate(
    parameters: Sequence[Parameter],
    start: Mapping[str, float],
    loglik: LogLik,
    fixed: Mapping[str, float] | None = None,
    profile: bool = False,
) -> Estimate:
    """Maximise ``loglik`` over the parameters not in ``fixed``.

    With ``profile``, each estimated parameter also gets its 95% profile-likelihood interval. A
    parameter is flagged when the data do not pin it: its interval is open on a side (it runs to a
    boundary or the profile is flat), the observed information is not positive definite along it, or
    (positive parameters, with or without the profile) its log-scale standard error exceeds
    ``MAX_LOG_ERROR``. A flagged parameter's standard error is withdrawn (NaN) and the fit is not
    reported as converged.
    """
    fixed = dict(fixed or {})
    unknown = set(fixed) - {p.name for p in parameters}
    if unknown:
        names = ", ".join(p.name for p in parameters if "." not in p.name)
        raise ValueError(f"cannot fix {', '.join(sorted(unknown))}: this model's parameters are {names}")
    free = [p for p in parameters if p.name not in fixed]

    def values_of(vector: NDArray[np.float64]) -> dict[str, float]:
        return {**fixed, **{p.name: float(v) for p, v in zip(free, vector, strict=True)}}

    def negloglik(vector: NDArray[np.float64]) -> float:
        return -loglik(values_of(vector))[0]

    fit = maximise(free, [start[p.name] for p in free], negloglik, profile)
    values = values_of(fit.values)
    loglik_value, residuals = loglik(values)
    errors = {p.name: float(se) for p, se in zip(free, fit.std_errors, strict=True)}
    intervals, flags = {}, {}
    for p, interval in zip(free, fit.intervals or (), strict=False):
        intervals[p.name] = (interval.low, interval.high)
        if not interval.bounded:
            flags[p.name] = _unbounded(p, values[p.name], interval)
    flat = [free[i].name for i in fit.flat]
    for i, p in enumerate(free):
        if p.name in flags:
            continue
        shown = _shown(intervals.get(p.name))
        if p.name in flat:
            together = f" together with {', '.join(n for n in flat if n != p.name)}" if len(flat) > 1 else ""
            flags[p.name] = (
                f"= {values[p.name]:.3g} is not identified: the likelihood does not curve down along it"
                f"{together} (observed information not positive definite){shown}"
            )
        elif p.constraint == "positive" and _loose(fit.free_errors, i):
            flags[p.name] = (
                f"= {values[p.name]:.3g} is not identified: its log-scale standard error is "
                f"{fit.free_errors[i]:.3g}, so the data leave it uncertain by more than a factor "
                f"e^{MAX_LOG_ERROR:g} either way{shown}"
            )
    for name in flags:
        errors[name] = float("nan")
    message = fit.message
    if flags:
        message = "not identified: " + "; ".join(f"{name} {why}" for name, why in flags.items())
    return Estimate(
        values=values,
        std_errors=errors,
        loglik=loglik_value,
        n_estimated=len(free),
        covariance=fit.covariance,
        names=tuple(p.name for p in free),
        converged=fit.converged and not flags,
        message=message,
        diagnostics=residual_diagnostics(residuals),
        intervals=intervals,
        flags=flags,
    )


def _loose(free_errors: NDArray[np.float64] | None, i: int) -> bool:
    return free_errors is not None and bool(free_errors[i] > MAX_LOG_ERROR)


def _shown(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ""
    return f"; 95% likelihood-ratio interval [{interval[0]:.3g}, {interval[1]:.3g}]"


def _unbounded(parameter: Parameter, value: float, interval: Interval) -> str:
    """Why a parameter is flagged: which side of its likelihood-ratio interval the data leave open.

    Open towards a boundary (0 for a positive parameter, +/-1 for a correlation) with the estimate
    pressed against it, the parameter is "at its boundary"; with the estimate inside, the data merely
    do not exclude the boundary ("not bounded away from its boundary"); open on both sides, or
    towards infinity, it is "not identified".
    """
    sides = [
        side for side, is_open in (("below", interval.open_low), ("above", interval.open_high)) if is_open
    ]
    what = "not identified"
    if parameter.constraint != "free" and interval.open_low and not interval.open_high:
        pressed = parameter.constraint == "positive" and value < 1e-3 * interval.high
        what = "at its boundary" if pressed else "not bounded away from its boundary"
    return (
        f"= {value:.3g} is {what}: the likelihood stays within {DROP:.2f} of its maximum all the way "
        f"{' and '.join(sides)} (95% likelihood-ratio interval [{interval.low:.3g}, {interval.high:.3g}])"
    )


def block(est: Estimate, names: Sequence[str]) -> NDArray[np.float64]:
    """The covariance block of the named parameters (zero rows for fixed ones)."""
    index = {name: i for i, name in enumerate(est.names)}
    out = np.zeros((len(names), len(names)))
    for a, name_a in enumerate(names):
        for b, name_b in enumerate(names):
            if name_a in index and name_b in index:
                out[a, b] = est.covariance[index[name_a], index[name_b]]
    return out


def to_calibration(
    model: Model,
    est: Estimate,
    prices: NDArray[np.float64],
    as_of: pd.Timestamp,
    method: str,
    *,
    log_scale: bool,
    season_errors: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
) -> Calibration:
    """Package a fitted model with its estimate's statistics (seasonal errors come from the design).

    A likelihood of log prices (``log_scale``) becomes one of prices through the Jacobian
    -sum ln S of the conditioned observations, so that AIC and BIC compare across all models.
    """
    errors = {k: v for k, v in est.std_errors.items() if not k.startswith("seasonality.")}
    errors.update(season_errors or {})
    notes = tuple(notes)
    if est.flags:
        notes = (*notes, *(f"{name} {why}" for name, why in est.flags.items()))
    elif not est.converged:
        notes = (*notes, f"standard errors unavailable: {est.message}")
    loglik = est.loglik - float(np.sum(np.log(prices[1:]))) if log_scale else est.loglik
    return Calibration(
        model=model,
        std_errors=errors,
        loglik=loglik,
        n_obs=len(prices) - 1,
        n_params=est.n_estimated,
        as_of=as_of,
        method=method,
        converged=est.converged,
        diagnostics=est.diagnostics,
        notes=notes,
        intervals={k: v for k, v in est.intervals.items() if not k.startswith("seasonality.terms")},
        flags=dict(est.flags),
    )
