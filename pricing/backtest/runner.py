"""Rolling-origin backtest: schedule origins, run them over processes, collect forecasts and scores."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.backtest.adaptive import ACI_SUFFIX, adaptive_rows
from pricing.backtest.bootstrap import BootstrapModel
from pricing.backtest.metrics import rank, summarise
from pricing.backtest.protocol import CalibratedModel, Fitted, ForecastModel
from pricing.backtest.recalibration import CQR_SUFFIX, SUFFIX, conformal_rows, interval_rows
from pricing.backtest.result import BacktestResult
from pricing.backtest.selected import SELECTED, selected_rows
from pricing.backtest.stay import StayModel
from pricing.backtest.tasks import OriginResult, OriginTask, Target, evaluate_origin, fit_models
from pricing.distributed import compute_on, map_ordered
from pricing.series import HOURS_PER_YEAR, SeriesError, duration

if TYPE_CHECKING:
    from distributed import Client


def _duration(value: str | pd.Timedelta, what: str) -> pd.Timedelta:
    try:
        length = duration(value)
    except SeriesError as exc:
        raise ValueError(f"{what}: {exc}") from None
    if length < pd.Timedelta(0):
        raise ValueError(f"{what}: must not be negative, got {value!r}")
    return length


BACKTEST_OPTIONS: dict[str, dict[str, Any]] = {"gbm": {"carry": 0.0}, "jump_ou": {"method": "robust"}}
"""Calibration options for models given by name. A drift fitted to days of prices is noise (its
standard error is larger than any plausible value) that then dominates every forecast, so the
backtest's gbm is driftless: its forward is the last price, with log-normal uncertainty around it.
jump_ou uses the robust threshold fit: on a week of step-like posted prices the jump-mixture
likelihood often ends on its bounds with exploding forwards (docs/backtesting.md). Pass
``CalibratedModel(name, options)`` for other choices."""


FORECASTERS = (
    "gbm",
    "schwartz1f",
    "schwartz_smith",
    "arithmetic_ou",
    "jump_ou",
    "bootstrap",
    "local_level",
    "stay",
)
"""Models the backtest knows by name: every calibrated spot model, the model-free bootstrap, its
local-level variant (the replay centred on today's filtered level) and local_level with an atom at
"no change" (today's price held for a random time read from the history's runs,
:mod:`pricing.backtest.stay`)."""


def named(name: str) -> ForecastModel:
    """The backtest's model of that name (see :data:`FORECASTERS`)."""
    if name == "bootstrap":
        return BootstrapModel()
    if name == "local_level":
        return BootstrapModel(name, local=True)
    if name == "stay":
        return StayModel()
    if name not in FORECASTERS:
        raise ValueError(f"unknown model {name!r}: use one of {', '.join(FORECASTERS)}")
    return CalibratedModel(name, BACKTEST_OPTIONS.get(name, {}))


def _models(models: Iterable[str | ForecastModel]) -> tuple[ForecastModel, ...]:
    resolved = tuple(named(m) if isinstance(m, str) else m for m in models)
    for model in resolved:
        if not isinstance(model, ForecastModel):
            raise TypeError(f"{model!r} lacks name and fit(history, previous): see ForecastModel")
    names = [m.name for m in resolved]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"give at least one model, each with a distinct name (got {names})")
    return resolved


def run(
    series: pd.Series,
    models: Sequence[str | ForecastModel] = ("jump_ou", "schwartz1f", "gbm"),
    *,
    horizons: Sequence[str] = ("1d", "7d"),
    windows: Sequence[str] = ("1d",),
    train: str = "7d",
    step: str = "1d",
    refit_every: int = 1,
    n_paths: int = 2000,
    seed: int = 0,
    workers: int | None = None,
    executor: Executor | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    progress: bool | None = None,
    conformal: bool = False,
    cqr: bool = False,
    aci: bool = False,
    source: dict[str, Any] | None = None,
    expanding: bool = False,
    select: bool = False,
) -> BacktestResult:
    """Backtest ``models`` on a regular price series (see :func:`pricing.series.resample`).

    At each origin (every ``step`` once ``train`` of history exists), every model is fitted to the
    trailing ``train`` window (a model with ``expanding = True`` gets everything before the origin)
    -- or, with ``refit_every = k``, refitted every k origins and only
    moved to the latest price in between (``0``: fitted once) -- then, for each horizon h and
    window length L, the forward of the delivery window [origin + h, origin + h + L) and the Monte
    Carlo distribution of its average price (``n_paths`` paths) are scored against what happened.

    Origins run on ``executor`` when given (any ``concurrent.futures.Executor``, e.g. Dask's
    ``client.get_executor()``), else on a pool of ``workers`` processes (default: all cores; 1
    runs in this process), or on Dask: a ``client``, or a ``scheduler`` (``"local"`` or
    ``tcp://host:8786``; default ``$FLOPEX_DASK_SCHEDULER``), where the series is scattered to the
    workers once and each task slices its history from it (:mod:`pricing.distributed`). Each
    origin's draws come from ``[seed, origin, model]``, so every path gives the same forecasts.
    ``progress`` shows a bar on stderr (default: only on a terminal).
    ``conformal`` adds, for every model M, a row set ``M+conformal``: M's forecasts rescaled by the
    recalibration fitted on M's forecasts realised before each origin
    (:mod:`pricing.backtest.recalibration`); ``cqr`` a row set ``M+cqr``: M's central intervals
    widened (or narrowed) level by level by the split-conformal quantile of how far past realised
    averages fell outside them (conformalised quantile regression); ``aci`` a row set ``M+aci``: M's
    intervals steered online by adaptive conformal inference, valid under distribution shift
    (:mod:`pricing.backtest.adaptive`). ``source`` (data file, statistic, grid...) is recorded in the
    run's settings. ``select`` adds the row set ``selected``: at each origin, the forecasts of the
    model with the lowest mean CRPS over the outcomes known by then (no look-ahead;
    :mod:`pricing.backtest.selected`). ``expanding`` fits on everything from the series start to the
    origin (``train`` is then the minimum history before the first origin).
    """
    wall = time.perf_counter()
    forecasters = _models(models)
    if len(series) < 3:
        raise ValueError("the series is too short to backtest")
    grid = pd.Timedelta(series.index.to_series().diff().min())
    if not horizons or not windows:
        raise ValueError("give at least one horizon and one window")
    if n_paths < 2:
        raise ValueError("n_paths must be at least 2 (forecast distributions need paths)")
    horizon_list = [(h, _duration(h, "horizon")) for h in horizons]
    window_list = [(w, _duration(w, "window")) for w in windows]
    for name, length in window_list:
        if length < grid or length % grid != pd.Timedelta(0):
            raise ValueError(f"window {name}: must be a positive multiple of the series step {grid}")
    train_span, origin_step = _duration(train, "train"), _duration(step, "step")
    if origin_step <= pd.Timedelta(0):
        raise ValueError("step must be positive")
    if refit_every < 0:
        raise ValueError("refit_every must be 0 (fit once) or a positive number of origins")
    reach = max(h for _, h in horizon_list) + max(w for _, w in window_list) - grid
    first, last = series.index[0] + train_span, series.index[-1] - reach
    if first > last:
        raise ValueError(
            f"not enough data: {train} of training plus {reach + grid} of horizon and window need more "
            f"than the {series.index[-1] - series.index[0]} covered by the series"
        )
    origins = pd.date_range(first, last, freq=origin_step).intersection(series.index)
    reach_back = expanding or any(getattr(m, "expanding", False) for m in forecasters)
    if len(origins) == 0:
        raise ValueError("no origin falls on an observation; check step against the series grid")
    tasks = [
        OriginTask(
            index=i,
            origin=origin,
            history=series.loc[:origin] if reach_back else series.loc[origin - train_span : origin],
            targets=tuple(
                _target(series, origin, grid, h, hs, w, ws) for h, hs in horizon_list for w, ws in window_list
            ),
            models=forecasters,
            n_paths=n_paths,
            seed=seed,
            train=None if expanding else train_span,
        )
        for i, origin in enumerate(origins)
    ]
    timings = {"calibration": 0.0, "simulation": 0.0, "scoring": 0.0}
    n_workers = workers or os.cpu_count() or 1
    with nullcontext(None) if executor else compute_on(scheduler, client, workers) as dask:
        own_pool = dask is None and executor is None and n_workers > 1
        with ProcessPoolExecutor(n_workers) if own_pool else nullcontext(executor) as pool:
            if dask is None:
                mapper = _mapper(pool, len(tasks), n_workers if own_pool else 0)
            else:
                mapper = _dask_mapper(dask, series, progress)
                progress = False  # the Dask mapper's bar follows the tasks themselves
                n_workers = len(dask.scheduler_info()["workers"])
            if refit_every != 1:
                tasks = _keep_parameters(tasks, refit_every, mapper, timings)
            results = _collect(mapper(evaluate_origin, tasks), len(tasks), progress)
    ordered = sorted(results, key=lambda r: r.index)
    rows = [row for result in ordered for row in result.rows]
    names = [m.name for m in forecasters]
    if conformal or cqr or aci:
        ensembles = [ensemble for result in ordered for ensemble in result.ensembles]
        clock = time.process_time()
        base, added = list(rows), list(names)
        if conformal:
            rows += conformal_rows(base, ensembles)
            names += [name + SUFFIX for name in added]
        if cqr:
            rows += interval_rows(base, ensembles)
            names += [name + CQR_SUFFIX for name in added]
        if aci:
            rows += adaptive_rows(base, ensembles)
            names += [name + ACI_SUFFIX for name in added]
        timings["recalibration"] = time.process_time() - clock
    if select:
        rows += selected_rows(rows, [m.name for m in forecasters])
        names.append(SELECTED)
    for result in results:
        for phase, seconds in result.timings.items():
            timings[phase] += seconds
    forecasts = pd.DataFrame(rows)
    metrics = summarise(forecasts)
    timings["wall"] = time.perf_counter() - wall
    config = {
        **(source or {}),
        "models": names,
        "horizons": list(horizons),
        "windows": list(windows),
        "train": train,
        "step": step,
        "refit_every": refit_every,
        "conformal": conformal,
        "cqr": cqr,
        "aci": aci,
        "expanding": expanding,
        "select": select,
        "n_paths": n_paths,
        "seed": seed,
        "workers": n_workers if executor is None else type(executor).__name__,
        "executor": "dask" if dask else "processes" if own_pool else type(pool).__name__ if pool else "none",
        "origins": len(tasks),
        "series_start": series.index[0].isoformat(),
        "series_end": series.index[-1].isoformat(),
        "series_step": str(grid),
    }
    return BacktestResult(
        config=config,
        series=series,
        forecasts=forecasts,
        metrics=metrics,
        ranking=rank(metrics),
        timings=timings,
    )


def _target(
    series: pd.Series,
    origin: pd.Timestamp,
    grid: pd.Timedelta,
    horizon: str,
    h: pd.Timedelta,
    window: str,
    w: pd.Timedelta,
) -> Target:
    stamps = pd.DatetimeIndex([origin + h + grid * k for k in range(int(w / grid))])
    values = series.reindex(stamps)
    realised = float(values.mean()) if values.notna().all() else float("nan")
    times = np.asarray((stamps - origin) / pd.Timedelta(hours=HOURS_PER_YEAR), dtype=float)
    return Target(horizon, window, times, realised)


Mapper = Callable[[Callable[[OriginTask], OriginResult], list[OriginTask]], Iterator[OriginResult]]


def _mapper(pool: Executor | None, n_tasks: int, own_workers: int) -> Mapper:
    """An ordered map over tasks: in this process, on our pool (chunked), or on the caller's executor."""
    if pool is None:
        return lambda fn, tasks: map(fn, tasks)
    if own_workers:
        chunk = max(1, n_tasks // (4 * own_workers))
        return lambda fn, tasks: pool.map(fn, tasks, chunksize=chunk)
    return lambda fn, tasks: pool.map(fn, tasks)


def _dask_mapper(client: Client, series: pd.Series, progress: bool | None) -> Mapper:
    """An ordered map on Dask: the series is scattered once; tasks travel without their history."""
    # hash=False: a fresh key. A content-hashed key is the same for the same series in the next run,
    # and the release of the earlier run's future can then drop the data under the new one.
    shared = client.scatter([series], broadcast=True, hash=False)[0]

    def mapper(fn: Callable[[OriginTask], OriginResult], tasks: list[OriginTask]) -> Iterator[OriginResult]:
        light = [
            (fn, replace(task, history=task.history.iloc[:0]), task.history.index[0], task.history.index[-1])
            for task in tasks
        ]
        label = f"backtest {fn.__name__}"
        return iter(map_ordered(client, _with_history, light, shared=shared, progress=progress, label=label))

    return mapper


def _with_history(series: pd.Series, item: tuple) -> OriginResult:
    """Run ``fn`` on the task with its history sliced, on the worker, from the scattered series."""
    fn, task, start, end = item
    return fn(replace(task, history=series.loc[start:end]))


def _keep_parameters(
    tasks: list[OriginTask], every: int, mapper: Mapper, timings: dict[str, float]
) -> list[OriginTask]:
    """Fit at refit origins (in parallel), then give every origin its block's fits to re-anchor."""
    starts = [task for task in tasks if (task.index % every == 0 if every else task.index == 0)]
    fits: dict[int, dict[str, Fitted]] = {}
    for result in mapper(fit_models, starts):
        fits[result.index] = result.fitted
        timings["calibration"] += result.timings["calibration"]
    out = []
    for task in tasks:
        block = task.index - task.index % every if every else 0
        out.append(
            OriginTask(
                task.index,
                task.origin,
                task.history,
                task.targets,
                task.models,
                task.n_paths,
                task.seed,
                previous=fits[block],
                train=task.train,
            )
        )
    return out


def _collect(results: Iterator[OriginResult], total: int, progress: bool | None) -> list[OriginResult]:
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return list(results)
    import click

    with click.progressbar(results, length=total, label="backtest origins", file=sys.stderr) as bar:
        return list(bar)
