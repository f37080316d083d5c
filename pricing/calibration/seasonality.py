"""The deterministic level f(t) = mean + trend t + sum A cos(2 pi (t + phase) / P) as a regression.

Written as a linear model in (mean, trend, a_k, b_k) with a_k cos(w t) + b_k sin(w t), it is fitted
by least squares (a starting point, or a stand-alone fit) and estimated jointly with the stochastic
factor by maximum likelihood; amplitudes and phases and their standard errors follow from (a_k, b_k).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.models import Seasonality, SeasonalTerm
from pricing.series import HOURS_PER_YEAR, duration, year_fractions


def period_in_years(period: float | str) -> float:
    """A seasonal period given in years (a number) or as a duration string such as ``"1D"`` or ``"7d"``."""
    if isinstance(period, str):
        years = duration(period) / pd.Timedelta(hours=HOURS_PER_YEAR)
    else:
        years = float(period)
    if not years > 0.0:
        raise ValueError(f"seasonal period must be positive, got {period!r}")
    return years


@dataclass(frozen=True)
class SeasonalDesign:
    """Which terms f(t) has: always a mean, optionally a trend, and one cosine per period (years)."""

    trend: bool = False
    periods: tuple[float, ...] = ()

    @classmethod
    def of(cls, trend: bool, periods: Sequence[float | str]) -> SeasonalDesign:
        return cls(trend, tuple(period_in_years(p) for p in periods))

    @property
    def names(self) -> list[str]:
        names = ["seasonality.mean"] + (["seasonality.trend"] if self.trend else [])
        for k in range(len(self.periods)):
            names += [f"seasonality.terms[{k}].cos", f"seasonality.terms[{k}].sin"]
        return names

    def matrix(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        columns = [np.ones_like(t)] + ([t] if self.trend else [])
        for period in self.periods:
            w = 2.0 * np.pi / period
            columns += [np.cos(w * t), np.sin(w * t)]
        return np.column_stack(columns)

    def seasonality(
        self, beta: NDArray[np.float64], cov: NDArray[np.float64] | None = None
    ) -> tuple[Seasonality, dict[str, float]]:
        """The Seasonality for coefficients ``beta`` and its standard errors (delta method)."""
        cov = np.full((len(beta), len(beta)), np.nan) if cov is None else cov
        se = np.sqrt(np.abs(np.diag(cov)))
        errors = {"seasonality.mean": float(se[0])}
        trend = 0.0
        offset = 1
        if self.trend:
            trend, errors["seasonality.trend"] = float(beta[1]), float(se[1])
            offset = 2
        terms = []
        for k, period in enumerate(self.periods):
            i = offset + 2 * k
            a, b = float(beta[i]), float(beta[i + 1])
            w = 2.0 * np.pi / period
            amplitude = float(np.hypot(a, b))
            # a cos(wt) + b sin(wt) = A cos(w (t + p)) with A cos(w p) = a, A sin(w p) = -b.
            phase = float(np.arctan2(-b, a) / w)
            block = cov[i : i + 2, i : i + 2]
            square = max(a * a + b * b, 1e-300)
            grad_amplitude = np.array([a, b]) / amplitude if amplitude > 0 else np.zeros(2)
            grad_phase = np.array([b, -a]) / square / w
            name = f"seasonality.terms[{k}]"
            errors[f"{name}.amplitude"] = float(np.sqrt(abs(grad_amplitude @ block @ grad_amplitude)))
            errors[f"{name}.phase"] = float(np.sqrt(abs(grad_phase @ block @ grad_phase)))
            terms.append(SeasonalTerm(amplitude=amplitude, period=period, phase=phase))
        return Seasonality(mean=float(beta[0]), trend=trend, terms=tuple(terms)), errors


def least_squares(
    design: SeasonalDesign, t: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """OLS coefficients and residuals of y on the design (a starting point for likelihoods)."""
    x = design.matrix(t)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return beta, y - x @ beta


def fit_seasonality(
    series: pd.Series,
    *,
    trend: bool = True,
    periods: Sequence[float | str] = (),
    log: bool = False,
) -> tuple[Seasonality, dict[str, float]]:
    """Regress prices (or log prices) on mean, trend and cosines; times from the last observation.

    The standard errors are the ordinary least-squares ones, which are too small when residuals are
    autocorrelated (they are, for every model here); the joint likelihood fits in
    :func:`pricing.calibrate` give the honest ones.
    """
    design = SeasonalDesign.of(trend, periods)
    t = np.asarray(year_fractions(series.index, series.index[-1]), dtype=float)
    y = np.log(series.to_numpy()) if log else series.to_numpy(dtype=float)
    beta, residuals = least_squares(design, t, y)
    x = design.matrix(t)
    dof = max(len(y) - x.shape[1], 1)
    cov = np.linalg.pinv(x.T @ x) * float(residuals @ residuals) / dof
    return design.seasonality(beta, cov)
