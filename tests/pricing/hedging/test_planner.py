"""The planner against closed forms and exact identities (issue 18's validation list)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pricing.hedging import (
    HedgeInputError,
    HedgeInstrument,
    PlanSettings,
    build_market,
    parse_forecast,
    plan,
    standard_series,
)
from pricing.hedging.optimise import solve, whole_gpus
from pricing.hedging.plan import STAGES, cvar
from pricing.hedging.scenarios import overlapping, simulate
from pricing.request import parse_model

VALUATION = datetime(2027, 1, 1, tzinfo=UTC)
GBM = {"type": "gbm", "spot": 2.4, "vol": 0.6, "carry": 0.0}


def _day(d: int) -> datetime:
    return VALUATION + timedelta(days=d)


def test_one_period_gaussian_minimum_variance_is_cov_over_var() -> None:
    """Jointly Gaussian bill and payoff: the optimiser's hedge is the regression slope cov/var, in sample
    to solver precision, and the population ratio rho sigma_c / sigma_p within its standard error."""
    rng = np.random.default_rng(3)
    n, rho, sigma_c, sigma_p = 20_000, 0.6, 50.0, 2.0
    z = rng.standard_normal((2, n))
    payoff = sigma_p * z[0]
    cost = 1000.0 + sigma_c * (rho * z[0] + np.sqrt(1 - rho**2) * z[1])
    hedge = solve(cost, payoff[:, None]).gpus[0]
    sample = np.cov(cost, payoff)[0, 1] / np.var(payoff, ddof=1)
    assert hedge == pytest.approx(sample, rel=1e-6)
    population = rho * sigma_c / sigma_p
    standard_error = sigma_c * np.sqrt(1 - rho**2) / (sigma_p * np.sqrt(n))
    assert abs(hedge - population) < 4 * standard_error


def test_one_period_plan_on_a_gaussian_price_is_cov_over_var() -> None:
    """One hour, usage uncertain (scenarios), Gaussian price (arithmetic OU): the plan's unrounded forward
    holding equals Cov(bill, payoff) / Var(payoff) of the simulated scenarios within standard errors,
    which for usage independent of price is the expected usage."""
    usage = [40.0, 55.0, 70.0, 95.0]
    forecast = parse_forecast(
        {
            "resolution": "hour",
            "usage": [{"product": "H100", "start": "2027-01-02T00:00:00Z", "scenarios": usage}],
        }
    )
    model = parse_model(
        {"type": "arithmetic_ou", "x0": 0.3, "kappa": 20.0, "vol": 3.0, "seasonality": {"mean": 2.4}}, "model"
    )
    forward = HedgeInstrument("H100-HOUR", "H100", "forward", _day(1), _day(1) + timedelta(hours=1), 2.45)
    market = build_market(VALUATION, {"H100": model}, (forward,))
    result = plan(forecast, market, PlanSettings(scenarios=4000, evaluation_scenarios=4000))
    (position,) = result.positions
    scenarios = simulate(forecast, market, (forward,), 4000, 0)
    bill, pay = scenarios.cost, scenarios.payoff[:, 0]
    ratio = np.cov(bill, pay)[0, 1] / np.var(pay, ddof=1)
    residual = bill - ratio * pay
    standard_error = np.std(residual) / (np.std(pay) * np.sqrt(bill.size))
    assert abs(position.gpus_exact - ratio) < 4 * standard_error
    # the regression on the bill at mean usage is exact; the spread tie-break (weight 1e-6) moves it ~1e-5
    assert position.gpus_exact == pytest.approx(np.mean(usage), rel=1e-4)


def test_perfect_forecast_with_every_hour_covered_locks_the_bill() -> None:
    rows = [{"product": "H100", "start": _day(d).isoformat(), "usage": 24.0 * (10 + d)} for d in range(1, 8)]
    forecast = parse_forecast({"resolution": "day", "usage": rows})
    model = parse_model(GBM, "model")
    listed = tuple(
        i for i in standard_series("H100", model, GBM, _day(1), _day(8), kinds=("day",), cap_moneyness=())
    )
    market = build_market(VALUATION, {"H100": model}, listed)
    result = plan(forecast, market, PlanSettings(scenarios=500, evaluation_scenarios=500))
    bought = {p.symbol: p.gpus for p in result.positions}
    assert bought == {i.symbol: 10 + d for d, i in enumerate(listed, start=1)}
    locked = sum(i.ask * i.hours * bought[i.symbol] for i in listed)
    assert result.hedged.std <= 1e-9 * locked
    assert result.hedged.mean == pytest.approx(locked, rel=1e-12)
    assert result.unhedged.std > 0.05 * locked
    assert all(w.ratio == pytest.approx(1.0) for w in result.windows)


def test_a_replan_keeps_what_is_held_and_plans_the_rest() -> None:
    """``held`` GPUs are lower bounds: a day over-bought stays held (the other days lean against its
    extra, prices being correlated across days), a day under-bought is topped up to the plan, and a
    held symbol the market does not list is refused naming it."""
    rows = [{"product": "H100", "start": _day(d).isoformat(), "usage": 24.0 * 10} for d in range(1, 4)]
    forecast = parse_forecast({"resolution": "day", "usage": rows})
    model = parse_model(GBM, "model")
    listed = standard_series("H100", model, GBM, _day(1), _day(4), kinds=("day",), cap_moneyness=())
    market = build_market(VALUATION, {"H100": model}, listed)
    settings = PlanSettings(scenarios=300, evaluation_scenarios=300)
    first = listed[0].symbol
    stages: list[str] = []
    free = {p.symbol: p.gpus for p in plan(forecast, market, settings, progress=stages.append).positions}
    assert tuple(stages) == STAGES
    assert free == {i.symbol: 10 for i in listed}
    over = {p.symbol: p.gpus for p in plan(forecast, market, settings, held={first: 25}).positions}
    assert over[first] == 25
    assert sum(over.values()) < 25 + 20
    assert {p.symbol: p.gpus for p in plan(forecast, market, settings, held={first: 4}).positions} == free
    with pytest.raises(HedgeInputError) as refused:
        plan(forecast, market, settings, held={"H100-1999-01": 1})
    assert refused.value.path == "held.H100-1999-01"


def _month_market() -> tuple:
    rows = [
        {
            "product": "H100",
            "start": _day(d).isoformat(),
            "quantiles": {"0.1": 1300, "0.5": 1536, "0.9": 2000},
        }
        for d in range(31)
    ]
    forecast = parse_forecast({"resolution": "day", "usage": rows})
    model = parse_model(GBM, "model")
    listed = standard_series(
        "H100",
        model,
        GBM,
        VALUATION,
        _day(31),
        kinds=("month", "week"),
        cap_moneyness=(1.0, 1.2),
        cap_paths=2048,
    )
    return forecast, build_market(VALUATION, {"H100": model}, listed)


def test_cvar_plan_tail_is_no_worse_than_variance_plan_on_the_same_scenarios() -> None:
    forecast, market = _month_market()
    instruments = overlapping(forecast, market)
    scenarios = simulate(forecast, market, instruments, 1500, 7)
    alpha = 0.95
    by_variance = solve(scenarios.cost, scenarios.payoff, objective="variance").gpus
    by_cvar = solve(scenarios.cost, scenarios.payoff, objective="cvar", alpha=alpha).gpus
    tail = {
        name: cvar(scenarios.cost - scenarios.payoff @ x, alpha)
        for name, x in (("variance", by_variance), ("cvar", by_cvar))
    }
    assert tail["cvar"] <= tail["variance"] * (1 + 1e-7)
    assert tail["cvar"] < cvar(scenarios.cost, alpha)
    variance = {
        name: np.var(scenarios.cost - scenarios.payoff @ x)
        for name, x in (("variance", by_variance), ("cvar", by_cvar))
    }
    assert variance["variance"] <= variance["cvar"] * (1 + 1e-6)


def test_budget_limits_premium_and_margin() -> None:
    forecast, market = _month_market()
    caps_only = build_market(
        VALUATION, market.models, tuple(i for i in market.instruments if i.kind == "asian")
    )
    free = plan(forecast, caps_only, PlanSettings(scenarios=600, evaluation_scenarios=600))
    assert free.cost.premium > 0
    budget = free.cost.upfront / 3
    tight = plan(forecast, caps_only, PlanSettings(scenarios=600, evaluation_scenarios=600, budget=budget))
    assert tight.cost.upfront <= budget
    assert tight.cost.budget_binding
    assert "the budget is binding" in tight.windows[0].explanation


def test_whole_gpus_never_breaks_the_budget_or_depth() -> None:
    gpus = np.array([2.6, 1.5, 0.4])
    upfront = np.array([10.0, 20.0, 5.0])
    assert list(whole_gpus(gpus, upfront, None)) == [3, 2, 0]
    rounded = whole_gpus(gpus, upfront, 60.0)
    assert float(upfront @ rounded) <= 60.0
    assert list(whole_gpus(gpus, upfront, None, np.array([2.0, np.inf, np.inf]))) == [2, 2, 0]


def test_plan_reports_cost_and_variance_reduction() -> None:
    forecast, market = _month_market()
    result = plan(forecast, market, PlanSettings(scenarios=800, evaluation_scenarios=800))
    assert result.variance_reduction > 0.2  # usage 1300-2000 GPU-h a day is mostly unhedgeable by price
    assert result.hedged.std < result.unhedged.std
    assert result.cost.spread > 0
    assert len(result.windows) == 31
    assert result.to_dict()["positions"][0]["symbol"].startswith("H100-2027")


def test_option_payoffs_in_the_scenarios_match_the_pricing_core() -> None:
    """The scenario means of a European call on a week's forward (exercised at expiry into the forward)
    and of an Asian cap on it equal the pricing core's values (Black-76 on the swap, exact for GBM;
    Monte Carlo for the Asian) within 4 combined standard errors."""
    import pricing
    from pricing.calendar import fixing_times, year_fraction
    from pricing.hedging.scenarios import fair_values

    start, end, expiry = _day(7), _day(14), _day(5)
    european = HedgeInstrument("E", "H100", "european", start, end, 0.0, "call", 2.5, expiry)
    asian = HedgeInstrument("A", "H100", "asian", start, end, 0.0, "call", 2.5)
    forecast = parse_forecast({"usage": [{"product": "H100", "start": start.isoformat(), "usage": 1.0}]})
    market = build_market(VALUATION, {"H100": parse_model(GBM, "model")}, (european, asian))
    scenarios = simulate(forecast, market, (european, asian), 20_000, 11)
    fair, error = fair_values(market, (european, asian), scenarios)
    hours = list(fixing_times(VALUATION, start, end, "hourly"))
    tau = year_fraction(VALUATION, expiry)
    black = pricing.price({"model": GBM, "instrument": {"type": "european", "kind": "call", "strike": 2.5,
                           "expiry": tau, "underlying": {"swap": hours}}})  # fmt: skip
    assert black["method"] == "analytic"
    assert abs(fair[0] - black["value"]) < 4 * error[0]
    mc = pricing.price({"model": GBM, "instrument": {"type": "asian", "kind": "call", "strike": 2.5,
                        "fixings": hours}, "mc": {"paths": 20_000, "seed": 3}})  # fmt: skip
    assert abs(fair[1] - mc["value"]) < 4 * np.hypot(error[1], mc["std_error"])
