"""Hedge effectiveness on real history: the planner on rolling origins over observed GPU prices.

At each origin (a UTC midnight) and for each product the study

1. fits the market's model to the trailing ``train`` of prices only (a driftless GBM by maximum
   likelihood, its volatility clamped to [0.05, 3] as the exchange's marks clamp theirs: the spot is
   its own forward), so nothing after the origin is seen;
2. lists a day forward on each day of the next ``horizon`` at the model's fair value plus
   ``half_spread`` (``standard_series``), and forecasts usage of ``gpus`` GPUs an hour with 10-90 %
   quantiles at ``gpus x (1 -/+ usage_spread)``;
3. plans the hedge (``plan``) and then reads what happened: the realised hourly prices, and a
   realised usage drawn from the forecast's own law (a seeded scenario, since the data has no usage).

Per origin: the bill unhedged (usage x realised price) and hedged (less the forwards' realised
payoffs), the saving (unhedged - hedged), the spread paid, and each bill's *surprise*: realised minus
what the plan expected at the origin. The variance reduction is ``1 - Var(hedged surprise) /
Var(unhedged surprise)`` over origins: how much of the unforeseen bill the hedge removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pricing.distributed import run_tasks
from pricing.hedging.forecast import parse_forecast
from pricing.hedging.listing import standard_series
from pricing.hedging.market import build_market
from pricing.hedging.optimise import Objective
from pricing.hedging.plan import PlanSettings, plan

if TYPE_CHECKING:
    from distributed import Client

TRACKER_FILES = {
    "A100": "A100_80GB_SXM4.jsonl",
    "H100": "H100_80GB_SXM5.jsonl",
    "H200": "H200_141GB.jsonl",
    "B200": "B200_180GB.jsonl",
}
"""The exchange's products and the gpu-price-tracker files that stand for them."""
VOL_BOUNDS = (0.05, 3.0)


@dataclass(frozen=True)
class StudySettings:
    """The rolling-origin design (durations as ``"3d"``-style strings)."""

    horizon: str = "3d"
    step: str = "1d"
    train: str = "3d"
    gpus: float = 64.0
    usage_spread: float = 0.2
    half_spread: float = 0.005
    objective: Objective = "variance"
    scenarios: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class OriginOutcome:
    """What the plan made at one origin for one product (USD)."""

    product: str
    origin: pd.Timestamp
    gpus_bought: int
    unhedged: float
    hedged: float
    expected_unhedged: float
    expected_hedged: float
    spread: float
    planned_variance_reduction: float

    @property
    def saving(self) -> float:
        return self.unhedged - self.hedged


@dataclass(frozen=True, eq=False)
class Effectiveness:
    """All outcomes, the summary table per product (and all together), and the price series."""

    settings: StudySettings
    outcomes: pd.DataFrame
    summary: pd.DataFrame
    prices: Mapping[str, pd.Series]
    timings: dict[str, float]

    def save(self, out: str | Path) -> Path:
        """Write outcomes.csv, summary.json, the PNG figures and report.html into ``out``."""
        from pricing.hedging.report import save_effectiveness

        return save_effectiveness(self, Path(out))


def run(
    prices: Mapping[str, pd.Series],
    settings: StudySettings | None = None,
    progress: Callable[[int], Any] | None = None,
    *,
    scheduler: str | None = None,
    client: Client | None = None,
    workers: int | None = None,
) -> Effectiveness:
    """The study over hourly price series per product (see the module docstring).

    ``progress`` is called with the number of origins done as each plan finishes (a progress bar's
    update). Every (product, origin) is one task with its own seed, so with ``scheduler`` (``"local"``
    or a ``tcp://`` address, or ``$FLOPEX_DASK_SCHEDULER``) or an open Dask ``client`` the plans run on
    Dask and the outcomes are those of the single-process run, row for row; the price series travel
    to the workers once (scattered), not with every task.
    """
    from pricing.series import duration

    settings = settings or StudySettings()
    horizon, step, train = (duration(v) for v in (settings.horizon, settings.step, settings.train))
    days = int(horizon / pd.Timedelta(days=1))
    if days < 1 or horizon != pd.Timedelta(days=days):
        raise ValueError(f"horizon must be a whole number of days, got {settings.horizon!r}")
    began = time.perf_counter()
    tasks = [
        _Origin(product, origin, settings.seed + 7919 * k)
        for product, series in prices.items()
        for k, origin in enumerate(origins(series, horizon, step, train))
    ]
    one = partial(_plan_origin, settings=settings, days=days, train=train)
    rows = run_tasks(
        one, tasks, dict(prices), scheduler=scheduler, client=client, workers=workers, advance=progress,
        label="hedge origins",
    )  # fmt: skip
    outcomes = pd.DataFrame([{**asdict(r), "saving": r.saving} for r in rows])
    return Effectiveness(
        settings, outcomes, summarise(outcomes), dict(prices), {"wall": time.perf_counter() - began}
    )


@dataclass(frozen=True)
class _Origin:
    """One task of the study: a product, an origin and the seed of its scenarios."""

    product: str
    origin: pd.Timestamp
    seed: int


def _plan_origin(
    prices: Mapping[str, pd.Series],
    task: _Origin,
    *,
    settings: StudySettings,
    days: int,
    train: pd.Timedelta,
) -> OriginOutcome:
    """Fit on the ``train`` before the origin only, plan, and read what the next ``days`` did."""
    from pricing.calibration import calibrate

    series = prices[task.product]
    history = series[(series.index > task.origin - train) & (series.index <= task.origin)]
    with np.errstate(divide="ignore", invalid="ignore"):  # flat stretches of quotes: zero returns
        fitted = calibrate(history, "gbm", carry=0.0).params
    fitted["vol"] = min(max(fitted["vol"], VOL_BOUNDS[0]), VOL_BOUNDS[1])
    return _one(task.product, series, task.origin, days, fitted, settings, task.seed)


def origins(series: pd.Series, horizon: pd.Timedelta, step: pd.Timedelta, train: pd.Timedelta) -> list:
    """UTC midnights with ``train`` of history before them and ``horizon`` of prices after them."""
    first = (series.index[0] + train).ceil("1D")
    last = series.index[-1] - horizon + pd.Timedelta(hours=1)
    return list(pd.date_range(first, last, freq=step)) if first <= last else []


def _one(
    product: str,
    series: pd.Series,
    origin: pd.Timestamp,
    days: int,
    spec: dict,
    settings: StudySettings,
    seed: int,
) -> OriginOutcome:
    from pricing.request import parse_model

    valuation = origin.to_pydatetime()
    model = parse_model(spec, "model")
    end = valuation + pd.Timedelta(days=days).to_pytimedelta()
    listed = standard_series(
        product,
        model,
        spec,
        valuation,
        end,
        half_spread=settings.half_spread,
        kinds=("day",),
        cap_moneyness=(),
    )
    level = 24.0 * settings.gpus
    low, high = level * (1 - settings.usage_spread), level * (1 + settings.usage_spread)
    forecast = parse_forecast(
        {
            "resolution": "day",
            "usage": [
                {
                    "product": product,
                    "start": item.start.isoformat(),
                    "quantiles": {"0.1": low, "0.5": level, "0.9": high},
                }
                for item in listed
            ],
        }
    )
    market = build_market(valuation, {product: model}, listed)
    result = plan(
        forecast,
        market,
        PlanSettings(
            objective=settings.objective,
            scenarios=settings.scenarios,
            evaluation_scenarios=settings.scenarios,
            seed=seed,
        ),
    )
    hours = pd.date_range(origin, periods=24 * days, freq="1h")
    realised = series.reindex(hours).to_numpy()
    if np.isnan(realised).any():
        raise ValueError(f"{product}: no price for every hour after {origin}")
    usage = forecast.hourly(list(hours.to_pydatetime()), 1, np.random.default_rng(seed))[product][:, 0]
    unhedged = float(usage @ realised)
    paid = 0.0
    for position in result.positions:
        inside = (hours >= position.start) & (hours < position.end)
        paid += position.gpus * float(np.sum(realised[inside] - position.ask))
    return OriginOutcome(
        product=product,
        origin=origin,
        gpus_bought=sum(p.gpus for p in result.positions),
        unhedged=unhedged,
        hedged=unhedged - paid,
        expected_unhedged=result.unhedged.mean,
        expected_hedged=result.hedged.mean,
        spread=result.cost.spread,
        planned_variance_reduction=result.variance_reduction,
    )


def summarise(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per product and overall: origins, mean bills, saving, spread, surprise spreads, variance reduction."""
    groups = [(p, rows) for p, rows in outcomes.groupby("product", sort=True)] + [("all", outcomes)]
    table = []
    for name, rows in groups:
        surprise_u = rows["unhedged"] - rows["expected_unhedged"]
        surprise_h = rows["hedged"] - rows["expected_hedged"]
        var_u = float(np.var(surprise_u, ddof=1)) if len(rows) > 1 else float("nan")
        var_h = float(np.var(surprise_h, ddof=1)) if len(rows) > 1 else float("nan")
        table.append(
            {
                "product": name,
                "origins": len(rows),
                "mean_unhedged": rows["unhedged"].mean(),
                "mean_hedged": rows["hedged"].mean(),
                "saving_total": rows["saving"].sum(),
                "saving_pct": 100 * rows["saving"].sum() / rows["unhedged"].sum(),
                "spread_total": rows["spread"].sum(),
                "surprise_sd_unhedged": np.sqrt(var_u),
                "surprise_sd_hedged": np.sqrt(var_h),
                "variance_reduction": 1 - var_h / var_u if var_u > 0 else float("nan"),
                "planned_variance_reduction": rows["planned_variance_reduction"].mean(),
            }
        )
    return pd.DataFrame(table)


def summary_json(result: Effectiveness) -> str:
    """The settings, timings and summary table as JSON (NaN as null)."""
    records = json.loads(result.summary.to_json(orient="records"))
    return json.dumps(
        {"settings": asdict(result.settings), "timings": result.timings, "summary": records}, indent=2
    )
