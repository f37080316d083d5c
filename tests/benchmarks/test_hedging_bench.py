"""Benchmark (issue 18): planner time for an hourly usage forecast across 4 products, and its growth
with the horizon.

Four products (gbm marks models), an hourly forecast with 10/50/90 % quantiles, the exchange's listed
series over the horizon (calendar months, ISO weeks, UTC days) plus an Asian cap per month. The
planner is timed at the full horizon and, in the same run, at half of it (the baseline); the ratio is
the figure. The default run plans 2 weeks (against 1) with 200 scenarios; ``-m slow`` plans the
issue's 3 months (against 6 weeks) with 2,000 scenarios, for both objectives.

Asserted: only the growth ratio, with a ceiling far above linear growth (doubling the horizon doubles
the hours and the instruments; an optimiser that scaled with their square would be caught).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from pricing.hedging import PlanSettings, build_market, parse_forecast, plan, standard_series
from pricing.request import parse_model

VALUATION = datetime(2027, 1, 1, tzinfo=UTC)
SPECS = {p: {"type": "gbm", "spot": s, "vol": 0.6} for p, s in (("H100", 2.4), ("H200", 3.1), ("B200", 4.5),
                                                                ("A100", 1.2))}  # fmt: skip


def _inputs(days: int) -> tuple:
    rows = [
        {"product": p, "start": (VALUATION + timedelta(hours=h)).isoformat(),
         "quantiles": {"0.1": 50, "0.5": 64, "0.9": 80}}
        for p in SPECS
        for h in range(24 * days)
    ]  # fmt: skip
    forecast = parse_forecast({"resolution": "hour", "usage": rows})
    models = {p: parse_model(s, p) for p, s in SPECS.items()}
    end = VALUATION + timedelta(days=days)
    listed = tuple(i for p in SPECS for i in standard_series(p, models[p], SPECS[p], VALUATION, end))
    return forecast, build_market(VALUATION, models, listed)


def _timed(days: int, objective: str, scenarios: int) -> tuple[float, dict]:
    forecast, market = _inputs(days)
    start = time.perf_counter()
    result = plan(forecast, market, PlanSettings(objective=objective, scenarios=scenarios,  # type: ignore[arg-type]
                                                 evaluation_scenarios=scenarios))  # fmt: skip
    elapsed = time.perf_counter() - start
    return elapsed, {
        "days": days,
        "instruments": len(market.instruments),
        "plan_s": round(elapsed, 2),
        **{f"{k}_s": round(v, 2) for k, v in result.timings.items() if k != "total"},
        "variance_reduction": round(result.variance_reduction, 3),
    }


def _measure(benchmark: pytest.FixtureRequest, days: int, objective: str, scenarios: int) -> None:
    _timed(1, objective, 100)  # warm up: imports and the solver's first set-up stay out of both timings
    baseline, half = _timed(days // 2, objective, scenarios)
    full_time, full = benchmark.pedantic(_timed, args=(days, objective, scenarios), rounds=1, iterations=1)
    ratio = full_time / baseline
    figures = {
        "objective": objective,
        "scenarios": scenarios,
        "half": half,
        "full": full,
        "ratio": round(ratio, 2),
    }
    benchmark.extra_info.update(figures)
    print(f"\nhedge planner benchmark: {figures}")
    assert ratio < 8.0, figures


def test_planner_two_weeks_hourly_four_products(benchmark: pytest.FixtureRequest) -> None:
    _measure(benchmark, 14, "variance", 200)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["variance", "cvar"])
def test_planner_three_months_hourly_four_products(benchmark: pytest.FixtureRequest, objective: str) -> None:
    _measure(benchmark, 90, objective, 2000)
