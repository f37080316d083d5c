"""A model-free forecaster: the future replays a randomly chosen stretch of the training history.

Posted GPU prices sit on a few levels (1.99, 2.40, 2.69 ...) and flip between them within hours, so the
average over a day ahead is mostly one of the averages seen in the recent past. ``BootstrapModel``
forecasts exactly that: each simulated path reads the (regular) history circularly from a random
starting hour, so a delivery window's simulated average is the average of a window of the same
length somewhere in the history. Its forward is the history's mean. It knows nothing the history
does not show (a new level, a trend), which the conformal layer and the comparison with the
parametric models measure; it prices nothing (it is a forecaster for backtests and selection, not a
pricing model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from pricing.series import HOURS_PER_YEAR


@dataclass(frozen=True)
class Replay:
    """The history's prices on its grid (step in years), replayed circularly from random offsets,
    times a driftless log-normal level exp(level_sd Z + level_vol W(t) - (level_sd^2 + level_vol^2 t) / 2)
    (``level_sd``: the uncertainty of today's level, 0 for the plain bootstrap). With a finite
    ``level_dof`` each path draws its own level variance level_vol^2 dof / chi2(dof), the posterior of
    a variance estimated from dof changes (Jeffreys prior): the estimate's error widens the forecast
    into a Student-t-like law instead of being ignored."""

    prices: NDArray[np.float64]
    step: float
    level_vol: float = 0.0
    level_sd: float = 0.0
    level_dof: float = np.inf

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.full(np.shape(np.asarray(t, dtype=float)), float(self.prices.mean()))

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        grid = np.asarray(times, dtype=float)
        offsets = np.rint(grid / self.step).astype(np.int64)
        starts = rng.integers(0, self.prices.size, size=n_paths)
        replay = self.prices[(starts[:, None] + offsets[None, :]) % self.prices.size]
        increments = rng.standard_normal((n_paths, grid.size)) * np.sqrt(np.diff(grid, prepend=0.0))
        vol = np.full((n_paths, 1), self.level_vol)
        if np.isfinite(self.level_dof):
            vol = vol * np.sqrt(self.level_dof / rng.chisquare(self.level_dof, (n_paths, 1)))
        level = vol * np.cumsum(increments, axis=1) - 0.5 * vol**2 * grid
        today = self.level_sd * rng.standard_normal((n_paths, 1)) - 0.5 * self.level_sd**2
        return replay * np.exp(level + today)


@dataclass(frozen=True)
class BootstrapModel:
    """The ``bootstrap`` forecaster of the backtest (see the module docstring)."""

    name: str = "bootstrap"
    level: bool = True
    block: str = "1D"
    local: bool = False
    """Centre the replay on today's filtered level instead of the history's mean (``local_level``)."""

    def fit(self, history: pd.Series, previous: object | None = None) -> Replay:
        grid = regular_step(history, "the bootstrap")
        step = float(grid / pd.Timedelta(hours=HOURS_PER_YEAR))
        prices = history.to_numpy(dtype=float)
        per_block = max(1, round(float(pd.Timedelta(self.block) / grid)))
        n_blocks = prices.size // per_block
        level_vol = level_sd = 0.0
        dof = np.inf
        if self.level and n_blocks >= 3:
            means = prices[prices.size - n_blocks * per_block :].reshape(n_blocks, per_block).mean(axis=1)
            walk, noise = _variogram(np.log(means))
            level_vol = float(np.sqrt(walk / (per_block * step)))
            if self.local:
                level, variance = _local_level(np.log(means), walk, noise)
                prices = prices * np.exp(level - np.log(prices.mean()))
                level_sd = float(np.sqrt(variance))
                dof = max(1.0, (n_blocks - 1) / 2.0)
        return Replay(prices, step, level_vol, level_sd, dof)


def regular_step(history: pd.Series, who: str) -> pd.Timedelta:
    """The one step between the history's observations, or a ValueError naming ``who`` needs it."""
    steps = history.index.to_series().diff().dropna()
    if steps.empty or steps.nunique() != 1:
        raise ValueError(f"{who} needs a regular history (resample the series first)")
    return pd.Timedelta(steps.iloc[0])


def _variogram(levels: NDArray[np.float64]) -> tuple[float, float]:
    """The random walk's and the noise's variances per block of a local-level model of ``levels``
    (noise plus a random walk has E(l[i+k] - l[i])^2 = 2 noise^2 + k walk^2): the slope and half
    the intercept of the mean squared change against the lag, by least squares, floored at 0."""
    lags = np.arange(1, max(2, levels.size // 2) + 1)
    variogram = np.array([np.mean((levels[k:] - levels[:-k]) ** 2) for k in lags])
    slope, intercept = np.polyfit(lags, variogram, 1)
    return max(float(slope), 0.0), max(float(intercept) / 2.0, 0.0)


def _local_level(levels: NDArray[np.float64], walk: float, noise: float) -> tuple[float, float]:
    """Today's level and its variance by the Kalman filter of the local-level model (level l' = l +
    N(0, walk), observed with N(0, noise)), started diffuse at the first block: an exponentially
    weighted mean that follows a level shift as fast as the walk's share of the variance says."""
    level, variance = float(levels[0]), noise
    for observed in levels[1:]:
        prior = variance + walk
        gain = prior / (prior + noise) if prior + noise > 0.0 else 1.0
        level, variance = level + gain * (observed - level), (1.0 - gain) * prior
    return level, variance
