"""Score historical-simulation VaR against model Monte Carlo VaR on real price histories.

For each series (one product's index), on a regular grid, at every step ``t`` after the first
``window`` returns, both methods forecast the VaR of the next step's loss of a unit long position and
of a unit short position in the index (relative P&L ``e^r - 1``, so both tails are tested):

- historical simulation: the empirical quantile (:func:`pricing.risk.var.var_es`) of the losses the
  last ``window`` returns would have caused;
- model Monte Carlo: ``paths`` draws of the driftless GBM with the marks' RMS volatility estimated
  from the same ``window`` returns (common random numbers across steps; the loss of a unit forward is
  monotone in the draw, so the quantile of the simulated losses is the loss at the draws' quantile).

An exceedance is a realised loss above the forecast. Kupiec's POF and Christoffersen's independence
tests (:mod:`pricing.risk.coverage`) are pooled over series and sides; the better-calibrated method is
the one with the higher conditional-coverage p-value (both tests together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.risk.coverage import TestResult, Transitions, christoffersen, conditional_coverage, kupiec
from pricing.risk.var import tail_count
from pricing.series import HOURS_PER_YEAR, duration

METHODS = ("historical", "monte_carlo")


@dataclass(frozen=True)
class MethodScore:
    """One method's exceedances and test results, pooled over the series and both sides."""

    method: str
    observations: int
    exceedances: int
    expected: float
    kupiec: TestResult
    independence: TestResult
    conditional: TestResult


@dataclass(frozen=True)
class VarBacktest:
    """Both methods' scores and the verdict."""

    level: float
    window: int
    freq: str
    series: tuple[str, ...]
    scores: tuple[MethodScore, ...]
    better: str


def _forecasts(
    returns: NDArray[np.float64], window: int, level: float, step_years: float, draws: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """VaR forecasts (relative loss of a unit long, of a unit short) per step, by method: shape (2, m)."""
    count = len(returns) - window
    windows = np.lib.stride_tricks.sliding_window_view(returns, window)[:count]
    k = tail_count(window, level)
    long_losses = -np.expm1(windows)
    short_losses = np.expm1(windows)
    hs = np.stack([np.sort(long_losses, axis=1)[:, -k], np.sort(short_losses, axis=1)[:, -k]])
    vol = np.sqrt(np.mean(windows**2, axis=1) / step_years)
    sd = vol * math.sqrt(step_years)
    drift = -0.5 * sd**2
    k_mc = tail_count(len(draws), level)
    z_sorted = np.sort(draws)
    low, high = z_sorted[k_mc - 1], z_sorted[-k_mc]
    mc = np.stack([-np.expm1(drift + low * sd), np.expm1(drift + high * sd)])
    return {"historical": hs, "monte_carlo": mc}


def backtest(
    series: dict[str, pd.Series],
    *,
    window: int = 168,
    level: float = 0.99,
    freq: str = "1h",
    paths: int = 20_000,
    seed: int = 0,
) -> VarBacktest:
    """Backtest both VaR methods on ``series`` (name -> price series on a regular ``freq`` grid)."""
    if not 0.5 < level < 1:
        raise ValueError("level must be between 0.5 and 1")
    step_years = duration(freq) / pd.Timedelta(hours=HOURS_PER_YEAR)
    draws = np.random.default_rng(seed).standard_normal(paths)
    hits: dict[str, list[NDArray[np.bool_]]] = {m: [] for m in METHODS}
    for name, prices in series.items():
        returns = np.diff(np.log(prices.to_numpy(dtype=float)))
        if len(returns) <= window:
            raise ValueError(f"{name}: {len(returns)} returns, the window needs more than {window}")
        realised = returns[window:]
        losses = np.stack([-np.expm1(realised), np.expm1(realised)])
        for method, forecast in _forecasts(returns, window, level, step_years, draws).items():
            hits[method].extend(losses > forecast + 1e-12)
    scores = []
    for method in METHODS:
        n = sum(h.size for h in hits[method])
        x = int(sum(h.sum() for h in hits[method]))
        transitions = Transitions(0, 0, 0, 0)
        for h in hits[method]:
            transitions = transitions + Transitions.of(h)
        pof = kupiec(n, x, 1 - level)
        independence = christoffersen(transitions)
        scores.append(
            MethodScore(
                method, n, x, n * (1 - level), pof, independence, conditional_coverage(pof, independence)
            )
        )
    better = max(scores, key=lambda s: s.conditional.p_value).method
    return VarBacktest(level, window, freq, tuple(series), tuple(scores), better)
