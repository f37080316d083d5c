"""The hedge planner: a usage forecast, a market snapshot, a budget and a risk measure in; a plan out.

``plan`` draws joint usage and price scenarios from the market model (:mod:`pricing.hedging.scenarios`),
solves for the holdings that minimise the variance or the CVaR of the total compute bill
(:mod:`pricing.hedging.optimise`), rounds them to whole GPUs within the budget, and then judges the
rounded plan on a second, independent set of scenarios (so the reported risk reduction is not the
optimiser's own in-sample figure). The plan explains its hedge ratio per product and day, shows the
bill's distribution hedged and unhedged, and states what the hedge costs: the spread paid over fair
value, the option premium and the margin held.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pricing.hedging.errors import HedgeInputError
from pricing.hedging.forecast import UsageForecast
from pricing.hedging.market import HedgeInstrument, HedgeMarket
from pricing.hedging.optimise import Objective, Solution, solve, whole_gpus
from pricing.hedging.scenarios import ScenarioSet, fair_values, overlapping, simulate

MAX_SCENARIOS = 200_000
STAGES: tuple[str, ...] = ("simulate", "optimise", "evaluate")
"""The stages of a plan, in order, as ``plan``'s ``progress`` callback names them."""
OBJECTIVES: tuple[str, ...] = ("variance", "cvar")


@dataclass(frozen=True)
class PlanSettings:
    """How to plan: the risk measure, its level, the budget and the Monte Carlo sizes."""

    objective: Objective = "variance"
    alpha: float = 0.95
    """CVaR level: the plan minimises the mean of the worst (1 - alpha) share of bills."""
    budget: float | None = None
    """Most USD the hedge may hold upfront (option premium plus margin); None: no limit."""
    scenarios: int = 2000
    evaluation_scenarios: int = 4000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise HedgeInputError("objective", f'must be "variance" or "cvar", got {self.objective!r}')
        if not 0.5 <= self.alpha < 1.0:
            raise HedgeInputError("alpha", f"must lie in [0.5, 1), got {self.alpha}")
        if self.budget is not None and not (np.isfinite(self.budget) and self.budget >= 0.0):
            raise HedgeInputError("budget", f"must be a non-negative amount of USD, got {self.budget}")
        for name in ("scenarios", "evaluation_scenarios"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= MAX_SCENARIOS:
                raise HedgeInputError(
                    name, f"must be a whole number in [100, {MAX_SCENARIOS}], got {value!r}"
                )


@dataclass(frozen=True)
class Position:
    """GPUs to buy of one instrument, and what they cost beyond the compute itself."""

    symbol: str
    product: str
    kind: str
    start: datetime
    end: datetime
    gpus: int
    gpus_exact: float
    ask: float
    fair: float
    fair_error: float
    spread: float
    """USD paid over fair value: (ask - fair) x hours x GPUs."""
    premium: float
    """USD of option premium (0 for forwards)."""
    margin: float


@dataclass(frozen=True)
class WindowHedge:
    """How much of one product's usage on one UTC day the plan locks or caps, and why."""

    product: str
    day: datetime
    expected: float
    low: float
    high: float
    """10 % and 90 % quantiles of the day's usage (GPU-hours)."""
    locked: float
    """GPU-hours bought forward at a fixed price."""
    capped: float
    """GPU-hours under a bought call (Asian cap or European call)."""
    alone: float
    """The minimum-variance GPUs of a forward on this day alone: Cov(bill, price sum) / Var(price sum)."""
    ratio: float
    explanation: str


@dataclass(frozen=True)
class Distribution:
    """Summary of the total compute bill (USD) over the evaluation scenarios."""

    mean: float
    std: float
    q05: float
    q50: float
    q95: float
    cvar: float

    @classmethod
    def of(cls, bills: NDArray[np.float64], alpha: float) -> Distribution:
        q05, q50, q95 = np.quantile(bills, [0.05, 0.5, 0.95])
        return cls(
            float(bills.mean()),
            float(bills.std(ddof=1)),
            float(q05),
            float(q50),
            float(q95),
            cvar(bills, alpha),
        )


@dataclass(frozen=True)
class HedgeCost:
    """What the hedge costs: spread over fair value, option premium, margin; and the budget."""

    spread: float
    premium: float
    margin: float
    upfront: float
    budget: float | None
    budget_binding: bool


@dataclass(frozen=True, eq=False)
class HedgePlan:
    """A plan (see the module docstring); ``bills`` holds the evaluation samples for the plots."""

    valuation: datetime
    settings: PlanSettings
    positions: tuple[Position, ...]
    windows: tuple[WindowHedge, ...]
    unhedged: Distribution
    hedged: Distribution
    variance_reduction: float
    cost: HedgeCost
    skipped: tuple[str, ...]
    """Listed instruments left out because they miss the forecast's horizon or products."""
    solver: str
    timings: dict[str, float]
    bills: dict[str, NDArray[np.float64]]
    forecast: UsageForecast
    days: tuple[datetime, ...]
    day_usage: dict[str, NDArray[np.float64]]
    """Usage quantiles per product and day (rows q10, q50, q90, mean), for the report's forecast plot."""

    def save(self, out: str | Path) -> Path:
        """Write plan.json, the figures (forecast, hedge by window, bills) and report.html into ``out``."""
        from pricing.hedging.report import save_plan

        return save_plan(self, Path(out))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (instants as ISO strings, money in USD floats)."""

        def plain(obj: Any) -> Any:
            if isinstance(obj, datetime):
                return obj.isoformat().replace("+00:00", "Z")
            if hasattr(obj, "__dataclass_fields__"):
                return {k: plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
            if isinstance(obj, tuple | list):
                return [plain(v) for v in obj]
            return obj

        return {
            "valuation": plain(self.valuation),
            "settings": plain(self.settings),
            "positions": plain(self.positions),
            "windows": plain(self.windows),
            "unhedged": plain(self.unhedged),
            "hedged": plain(self.hedged),
            "variance_reduction": self.variance_reduction,
            "cost": plain(self.cost),
            "skipped": list(self.skipped),
            "solver": self.solver,
            "timings": self.timings,
        }


def cvar(bills: NDArray[np.float64], alpha: float) -> float:
    """Mean of the worst (1 - alpha) share of bills (the Rockafellar-Uryasev value at its optimum)."""
    ordered = np.sort(bills)[::-1]
    tail = (1.0 - alpha) * ordered.size
    whole = int(np.floor(tail))
    total = ordered[:whole].sum() + (tail - whole) * (ordered[whole] if whole < ordered.size else 0.0)
    return float(total / tail)


def plan(
    forecast: UsageForecast,
    market: HedgeMarket,
    settings: PlanSettings | None = None,
    held: Mapping[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> HedgePlan:
    """The hedge plan for ``forecast`` over ``market`` (see the module docstring).

    ``held``: GPUs already bought per listed symbol (re-planning the rest of a hedge under way). The
    plan keeps at least those holdings, and its positions are totals, held GPUs included; a held
    instrument must be in ``market`` (its ``max_gpus`` counting the held GPUs). ``progress`` is
    called with the name of each of the :data:`STAGES` as it ends (a command's progress bar).
    """
    step = progress or (lambda stage: None)
    settings = settings or PlanSettings()
    held = dict(held or {})
    listed = {item.symbol for item in market.instruments}
    for symbol, gpus in held.items():
        if symbol not in listed:
            raise HedgeInputError(f"held.{symbol}", "is not among the market's instruments")
        if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
            raise HedgeInputError(f"held.{symbol}", f"must be a whole number of GPUs >= 0, got {gpus!r}")
    clock = time.perf_counter
    began = clock()
    forecast.check_after(market.valuation)
    for i, row in enumerate(forecast.rows):
        if row.product not in market.models:
            raise HedgeInputError(
                f"forecast[{i}].product",
                f"unknown product {row.product!r}; the market has {', '.join(sorted(market.models))}",
            )
    instruments = overlapping(forecast, market)
    skipped = tuple(i.symbol for i in market.instruments if i not in instruments)
    scenarios = simulate(forecast, market, instruments, settings.scenarios, settings.seed)
    simulated = clock()
    step("simulate")
    fair, fair_error = fair_values(market, instruments, scenarios)
    upfront = np.array([_upfront(item) for item in instruments])
    depth = np.array([np.inf if item.max_gpus is None else item.max_gpus for item in instruments])
    floor = np.array([held.get(item.symbol, 0) for item in instruments], dtype=np.int64)
    if instruments:
        bill = scenarios.cost_at_mean_usage if settings.objective == "variance" else scenarios.cost
        solution = solve(
            bill,
            scenarios.payoff,
            objective=settings.objective,
            alpha=settings.alpha,
            upfront=upfront,
            budget=settings.budget,
            depth=depth,
            preference=np.array([abs(item.ask) for item in instruments]),
            held=floor.astype(float),
        )
    else:
        solution = Solution(np.zeros(0), False, "none", "no instrument covers the forecast")
    solved = clock()
    step("optimise")
    gpus = whole_gpus(solution.gpus, upfront, settings.budget, depth, floor)
    check = simulate(forecast, market, instruments, settings.evaluation_scenarios, settings.seed + 1)
    unhedged_bills = check.cost
    hedged_bills = check.cost - check.payoff @ gpus.astype(float) if instruments else check.cost
    positions = tuple(
        Position(
            item.symbol,
            item.product,
            item.kind,
            item.start,
            item.end,
            int(gpus[j]),
            float(solution.gpus[j]),
            item.ask,
            float(fair[j]),
            float(fair_error[j]),
            float((item.ask - fair[j]) * item.hours * gpus[j]),
            float(item.ask * item.hours * gpus[j]) if item.kind != "forward" else 0.0,
            float(item.margin * gpus[j]),
        )
        for j, item in enumerate(instruments)
        if gpus[j] > 0
    )
    cost = HedgeCost(
        spread=sum(p.spread for p in positions),
        premium=sum(p.premium for p in positions),
        margin=sum(p.margin for p in positions),
        upfront=float(upfront @ gpus) if instruments else 0.0,
        budget=settings.budget,
        budget_binding=solution.budget_binding,
    )
    var_before = float(np.var(unhedged_bills, ddof=1))
    windows = _windows(scenarios, instruments, gpus, cost.budget_binding)
    finished = clock()
    step("evaluate")
    return HedgePlan(
        valuation=market.valuation,
        settings=settings,
        positions=positions,
        windows=windows,
        unhedged=Distribution.of(unhedged_bills, settings.alpha),
        hedged=Distribution.of(hedged_bills, settings.alpha),
        variance_reduction=1.0 - float(np.var(hedged_bills, ddof=1)) / var_before if var_before > 0 else 0.0,
        cost=cost,
        skipped=skipped,
        solver=solution.solver,
        timings={
            "simulate": simulated - began,
            "optimise": solved - simulated,
            "evaluate": finished - solved,
            "total": finished - began,
        },
        bills={"unhedged": unhedged_bills, "hedged": hedged_bills},
        forecast=forecast,
        days=scenarios.days,
        day_usage={
            p: np.vstack([np.quantile(u, [0.1, 0.5, 0.9], axis=1), u.mean(axis=1)])
            for p, u in scenarios.day_usage.items()
        },
    )


def _upfront(item: HedgeInstrument) -> float:
    """USD one GPU of ``item`` holds upfront beyond the compute: its premium (options) and margin."""
    premium = item.ask * item.hours if item.kind != "forward" else 0.0
    return premium + item.margin


def _windows(
    scenarios: ScenarioSet, instruments: tuple[HedgeInstrument, ...], gpus: NDArray[np.int64], binding: bool
) -> tuple[WindowHedge, ...]:
    out = []
    for product, usage in scenarios.day_usage.items():
        price, bill = scenarios.day_price[product], scenarios.day_cost[product]
        for d, day in enumerate(scenarios.days):
            expected = float(usage[d].mean())
            low, high = (float(v) for v in np.quantile(usage[d], [0.1, 0.9]))
            locked = capped = 0.0
            lockers, cappers = [], []
            for j, item in enumerate(instruments):
                if gpus[j] == 0 or item.product != product:
                    continue
                hours = _overlap_hours(item, day)
                if hours == 0:
                    continue
                if item.kind == "forward":
                    locked += gpus[j] * hours
                    lockers.append(f"{item.symbol} x{gpus[j]}")
                elif item.option_kind == "call":
                    capped += gpus[j] * hours
                    cappers.append(f"{item.symbol} x{gpus[j]}")
            spread = float(np.var(price[d], ddof=1))
            alone = float(np.cov(bill[d], price[d])[0, 1] / spread) if spread > 0 else 0.0
            ratio = locked / expected if expected > 0 else 0.0
            out.append(
                WindowHedge(
                    product,
                    day,
                    expected,
                    low,
                    high,
                    locked,
                    capped,
                    alone,
                    ratio,
                    _explain(expected, low, high, locked, capped, alone, lockers, cappers, binding),
                )
            )
    return tuple(out)


def _overlap_hours(item: HedgeInstrument, day: datetime) -> int:
    start = max(item.start, day)
    end = min(item.end, day + timedelta(days=1))
    return max(int((end - start).total_seconds() // 3600), 0)


def _explain(
    expected: float,
    low: float,
    high: float,
    locked: float,
    capped: float,
    alone: float,
    lockers: list[str],
    cappers: list[str],
    binding: bool,
) -> str:
    if expected == 0.0 and locked == 0.0:
        return "no usage forecast and nothing bought"
    parts = [f"locks {locked:,.0f} of {expected:,.0f} expected GPU-h ({locked / max(expected, 1e-12):.0%})"]
    if lockers:
        parts.append("through " + ", ".join(lockers))
    if capped:
        parts.append(f"caps {capped:,.0f} GPU-h more through " + ", ".join(cappers))
    parts.append(f"usage 10-90%: {low:,.0f}-{high:,.0f} GPU-h")
    parts.append(f"the day alone would lock {alone * 24:,.0f} GPU-h (cov/var)")
    if binding:
        parts.append("the budget is binding")
    elif not lockers and not cappers:
        parts.append("no listed instrument that the plan buys covers this day")
    return "; ".join(parts)
