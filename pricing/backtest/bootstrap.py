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
    times a driftless log-normal level exp(level_vol W(t) - level_vol^2 t / 2)."""

    prices: NDArray[np.float64]
    step: float
    level_vol: float = 0.0

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        return np.full(np.shape(np.asarray(t, dtype=float)), float(self.prices.mean()))

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        grid = np.asarray(times, dtype=float)
        offsets = np.rint(grid / self.step).astype(np.int64)
        starts = rng.integers(0, self.prices.size, size=n_paths)
        replay = self.prices[(starts[:, None] + offsets[None, :]) % self.prices.size]
        increments = rng.standard_normal((n_paths, grid.size)) * np.sqrt(np.diff(grid, prepend=0.0))
        level = self.level_vol * np.cumsum(increments, axis=1) - 0.5 * self.level_vol**2 * grid
        return replay * np.exp(level)


@dataclass(frozen=True)
class BootstrapModel:
    """The ``bootstrap`` forecaster of the backtest (see the module docstring)."""

    name: str = "bootstrap"
    level: bool = True
    block: str = "1D"

    def fit(self, history: pd.Series, previous: object | None = None) -> Replay:
        steps = history.index.to_series().diff().dropna()
        if steps.empty or steps.nunique() != 1:
            raise ValueError("the bootstrap needs a regular history (resample the series first)")
        step = float(steps.iloc[0] / pd.Timedelta(hours=HOURS_PER_YEAR))
        prices = history.to_numpy(dtype=float)
        per_block = max(1, round(float(pd.Timedelta(self.block) / steps.iloc[0])))
        n_blocks = prices.size // per_block
        level_vol = 0.0
        if self.level and n_blocks >= 3:
            means = prices[prices.size - n_blocks * per_block :].reshape(n_blocks, per_block).mean(axis=1)
            level_vol = float(np.sqrt(_variogram_slope(np.log(means)) / (per_block * step)))
        return Replay(prices, step, level_vol)


def _variogram_slope(levels: NDArray[np.float64]) -> float:
    """Growth per lag of the mean squared change of ``levels`` (a local-level model: noise plus a
    random walk has E(l[i+k] - l[i])^2 = 2 noise^2 + k walk^2), by least squares, floored at 0."""
    lags = np.arange(1, max(2, levels.size // 2) + 1)
    variogram = np.array([np.mean((levels[k:] - levels[:-k]) ** 2) for k in lags])
    slope = np.polyfit(lags, variogram, 1)[0]
    return max(float(slope), 0.0)
