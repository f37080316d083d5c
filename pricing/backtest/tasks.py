"""The unit of backtest work: everything one origin needs, and the forecast rows it produces.

A task carries its own data (the training history and the realised prices of its delivery windows)
and models, and returns plain rows plus timings, so any executor can run it: a local process pool
today, Ray or Dask (both accept picklable callables and arguments) tomorrow.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pricing.backtest.protocol import Fitted, ForecastModel
from pricing.backtest.scores import crps_ensemble, pinball

QUANTILES = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
"""Forecast quantiles kept per row: the central 95%, 90%, 80% and 50% intervals and the median."""


def quantile_column(level: float) -> str:
    """The row column of a quantile level: ``q05`` for 5%, ``q2.5`` for 2.5%."""
    percent = 100.0 * level
    return f"q{round(percent):02d}" if float(percent).is_integer() else f"q{percent:g}"


FORECAST_COLUMNS = (
    "forward",
    "mean",
    *(quantile_column(q) for q in QUANTILES),
    "pit",
    "pit_low",
    "pit_high",
    "crps",
    "pinball",
    "cap_strike",
    "cap_premium",
    "cap_payoff",
)
"""Columns a row has whether or not its model could forecast (NaN when it could not)."""


@dataclass(frozen=True)
class Target:
    """One delivery window to forecast: its start offset from the origin and its fixing times."""

    horizon: str
    window: str
    times: np.ndarray  # years from the origin, one per fixing
    realised: float  # mean of the realised prices over the fixings (NaN if some are missing)


@dataclass(frozen=True)
class OriginTask:
    """Fit every model to ``history`` and forecast every target; ``previous`` keeps parameters."""

    index: int
    origin: pd.Timestamp
    history: pd.Series
    targets: tuple[Target, ...]
    models: tuple[ForecastModel, ...]
    n_paths: int
    seed: int
    previous: dict[str, Fitted] = field(default_factory=dict)
    train: pd.Timedelta | None = None
    """The trailing window a model fits to; None: the whole ``history``. ``history`` reaches back further
    when some model wants everything before the origin (``expanding = True`` on the model)."""

    def trailing(self) -> pd.Series:
        """The trailing training window (the whole history when there is none)."""
        return self.history if self.train is None else self.history.loc[self.origin - self.train :]

    def history_for(self, model: ForecastModel) -> pd.Series:
        """The history ``model`` is fitted to: all of it if the model asks, else the trailing window."""
        return self.history if getattr(model, "expanding", False) else self.trailing()


@dataclass
class OriginResult:
    """The rows of one origin, the models fitted there and CPU seconds spent by phase.

    ``ensembles`` holds, for each row, its simulated window averages (float32, None when the model
    failed), which the conformal layer (:mod:`pricing.backtest.recalibration`) rescales later.
    """

    index: int
    rows: list[dict]
    fitted: dict[str, Fitted]
    timings: dict[str, float]
    ensembles: list[np.ndarray | None] = field(default_factory=list)


def _single_threaded(work: Callable[[OriginTask], OriginResult]) -> Callable[[OriginTask], OriginResult]:
    """Run a task with one BLAS thread: calibration works on tiny matrices, where OpenBLAS threads only
    add synchronisation (4x slower in one process on the 2-core machine, worse with several)."""

    @functools.wraps(work)
    def wrapper(task: OriginTask) -> OriginResult:
        with threadpool_limits(limits=1, user_api="blas"):
            return work(task)

    return wrapper


@_single_threaded
def fit_models(task: OriginTask) -> OriginResult:
    """Only the calibration phase of a task (used to prepare fits kept across later origins).

    A model that fails to fit here is left out, so the origins of its block fit it themselves (and
    record the failure in their rows if it fails again).
    """
    start = time.process_time()
    fitted = {}
    for model in task.models:
        try:
            fitted[model.name] = model.fit(task.history_for(model), task.previous.get(model.name))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            continue
    return OriginResult(task.index, [], fitted, {"calibration": time.process_time() - start})


@_single_threaded
def evaluate_origin(task: OriginTask) -> OriginResult:
    """Fit, simulate and score every model at one origin."""
    timings = {"calibration": 0.0, "simulation": 0.0, "scoring": 0.0}
    last = float(task.history.iloc[-1])
    trailing = float(task.trailing().mean())
    all_times = np.unique(np.concatenate([target.times for target in task.targets]))
    rows: list[dict] = []
    ensembles: list[np.ndarray | None] = []
    fitted_models: dict[str, Fitted] = {}
    for k, model in enumerate(task.models):
        clock = time.process_time()
        error = ""
        try:
            fitted = model.fit(task.history_for(model), task.previous.get(model.name))
            fitted_models[model.name] = fitted
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            error = f"fit failed: {exc}"
        timings["calibration"] += time.process_time() - clock
        clock = time.process_time()
        paths = None
        if not error:
            try:
                rng = np.random.default_rng([task.seed, task.index, k])
                paths = fitted.simulate(all_times, task.n_paths, rng)
            except (ValueError, ArithmeticError) as exc:
                error = f"simulation failed: {exc}"
        timings["simulation"] += time.process_time() - clock
        clock = time.process_time()
        for target in task.targets:
            row = {
                "origin": task.origin,
                "model": model.name,
                "horizon": target.horizon,
                "window": target.window,
                "realised": target.realised,
                "last": last,
                "trailing_mean": trailing,
                "error": error,
                **dict.fromkeys(FORECAST_COLUMNS, np.nan),
            }
            averages = None
            if paths is not None:
                averages = paths[:, np.searchsorted(all_times, target.times)].mean(axis=1)
                forward = float(np.mean(fitted.forward(target.times)))
                row.update(forecast_row(averages, forward, target.realised))
            rows.append(row)
            ensembles.append(None if averages is None else averages.astype(np.float32))
        timings["scoring"] += time.process_time() - clock
    return OriginResult(task.index, rows, fitted_models, timings, ensembles)


def forecast_row(averages: np.ndarray, forward: float, realised: float) -> dict[str, float]:
    """Forward, distribution summary and scores of one window's simulated average prices."""
    quantiles = np.quantile(averages, QUANTILES)
    premium = float(np.mean(np.maximum(averages - forward, 0.0)))
    row = {"forward": forward, "mean": float(averages.mean())}
    row.update({quantile_column(q): float(v) for q, v in zip(QUANTILES, quantiles, strict=True)})
    row.update({"cap_strike": forward, "cap_premium": premium})
    if np.isfinite(realised):
        # ties within a relative 1e-9 (a flat window's average and a flat path's differ by rounding)
        tie = 1e-9 * abs(realised)
        below, at_most = float(np.mean(averages < realised - tie)), float(np.mean(averages <= realised + tie))
        row.update({"pit": 0.5 * (below + at_most), "pit_low": below, "pit_high": at_most})
        row["crps"] = crps_ensemble(averages, realised)
        row["pinball"] = pinball(quantiles, QUANTILES, realised)
        row["cap_payoff"] = max(realised - forward, 0.0)
    return row
