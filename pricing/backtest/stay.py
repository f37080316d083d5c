"""A forecaster with an atom at "no change": the price stays on today's value for a while, then moves.

Posted GPU medians sit on one price for long stretches (82-91% of the hourly changes on the shared
series are exactly zero; B200 and H200 hold 5.69 and 3.59 for days), so "the price does not move" is
the most likely single outcome and a window average exactly equal to today's price is common (a
quarter of the 7-day outcomes on B200). A continuous forecast puts no probability there. ``StayModel``
mixes the two: each path holds today's price until a random change time T, then follows a base
forecaster's path (local_level by default). T comes from the history's **runs** (maximal stretches
of one price on the grid), conditioned on the current run's age a: over the ages from a / 2 on
(every completed run and the current one, expanding history), the hazard of a change per step is
E / X, with E the runs that changed at those ages and X the steps spent at them
(:func:`hazard_counts`). Each path draws its own hazard from the Gamma(E + 1/2, X) posterior (Jeffreys prior),
so few long runs mean an uncertain hazard rather than a confident one, and then T from that
geometric law. The window average equals today's price exactly with probability P(T >= window end),
which makes the central intervals contain today's price as often as the history says they should.

The hazard is constant from a / 2 on (the data hold a handful of runs longer than a day;
a fitted duration curve would be noise). The base model sees only the trailing ``train`` window,
as it does alone; the runs are read from everything before the origin
(:attr:`StayModel.expanding`). It prices nothing: it is a forecaster for backtests and selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from pricing.backtest.bootstrap import BootstrapModel, regular_step
from pricing.backtest.protocol import Fitted, ForecastModel
from pricing.series import HOURS_PER_YEAR

FORWARD_PATHS = 4000
"""Paths of the fixed-seed simulation that gives the forward."""


def runs(prices: NDArray[np.floating]) -> NDArray[np.int64]:
    """Lengths, in grid steps, of the maximal stretches of exactly one price (the last one still running)."""
    x = np.asarray(prices, dtype=float)
    if x.size == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    return np.diff(np.append(starts, x.size)).astype(np.int64)


def hazard_counts(lengths: NDArray[np.int64]) -> tuple[float, float]:
    """(E, X) of the hazard of a change per step for the current run, which has stayed a steps (its
    length - 1): read over ages from b = a // 2 on, E counts the completed runs that changed at an age
    of b or more and X the steps at ages b or more that every run spent staying or changing (each
    completed run of length l stayed l - 1 steps and changed on the next; the current run has stayed
    a - b steps past b without a change). Starting at a // 2 rather than at a keeps a current run
    longer than any before it informative: with no comparable run, E = 0, X = a / 2, and the posterior
    mean hazard 1 / a says "expect about as long again as it has lasted"."""
    if lengths.size == 0:
        return 0.0, 0.0
    stayed = lengths - 1
    age = int(stayed[-1])
    since = age // 2
    ended = stayed[:-1][stayed[:-1] >= since]
    return float(ended.size), float(np.sum(ended - since) + ended.size + (age - since))


@dataclass(frozen=True)
class StayPaths:
    """Today's ``price`` held until a change time drawn with a Gamma(``events`` + 1/2, ``exposure``)
    hazard per grid ``step`` (years), then the ``base`` model's path."""

    price: float
    base: Fitted
    events: float
    exposure: float
    step: float

    def change_steps(self, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Steps from the origin to each path's first change (1 = the next grid point may differ)."""
        rate = rng.gamma(self.events + 0.5, 1.0, n_paths) / max(self.exposure, 1.0)
        p = np.clip(rate, 1e-12, 1.0)
        return rng.geometric(p).astype(float)

    def simulate(self, times: ArrayLike, n_paths: int, rng: np.random.Generator) -> NDArray[np.float64]:
        grid = np.asarray(times, dtype=float)
        paths = np.asarray(self.base.simulate(grid, n_paths, rng), dtype=float)
        change = self.change_steps(n_paths, rng)
        steps = np.rint(grid / self.step)
        return np.where(steps[None, :] < change[:, None], self.price, paths)

    def forward(self, t: ArrayLike) -> NDArray[np.float64]:
        times = np.atleast_1d(np.asarray(t, dtype=float))
        paths = self.simulate(times, FORWARD_PATHS, np.random.default_rng(0))
        return paths.mean(axis=0).reshape(np.shape(np.asarray(t, dtype=float)))

    def stay_probability(self, t: float) -> float:
        """P(the price is still today's at every grid point up to t), integrating the hazard's posterior:
        E[(1 - r)^k] with r ~ Gamma(E + 1/2, X), k steps, by the Laplace transform (1 + k/X)^-(E + 1/2)
        of the exponential approximation (1 - r)^k ~ exp(-k r)."""
        k = float(np.rint(t / self.step))
        return float((1.0 + k / max(self.exposure, 1.0)) ** -(self.events + 0.5))


@dataclass(frozen=True)
class StayModel:
    """The ``stay`` forecaster of the backtest (see the module docstring)."""

    name: str = "stay"
    base: ForecastModel = field(default_factory=lambda: BootstrapModel("local_level", local=True))
    train: str = "7D"
    """The trailing window the base model is fitted to (the backtest's default training window)."""
    expanding: bool = True
    """The runner gives this model every observation before the origin, not the trailing window."""

    def fit(self, history: pd.Series, previous: object | None = None) -> StayPaths:
        grid = regular_step(history, "the stay forecaster")
        recent = history.loc[history.index[-1] - pd.Timedelta(self.train) :]
        events, exposure = hazard_counts(runs(history.to_numpy(dtype=float)))
        return StayPaths(
            price=float(history.iloc[-1]),
            base=self.base.fit(recent),
            events=events,
            exposure=exposure,
            step=float(grid / pd.Timedelta(hours=HOURS_PER_YEAR)),
        )
