"""The exchange plans a buyer's usage forecast: the planner (``pricing.hedging``) over the live market.

The market snapshot is what a buyer could take now: for each product of the forecast, the model
behind the marks (read from the mark of its first open forward) and every open instrument delivering
within the forecast's horizon that has an offer, at its best ask (depth: that level), with its mark as
fair value and, for cash-settled forwards, the margin a long GPU holds. Instruments the hedge already
holds are listed even without an offer (at their mark), so a re-plan counts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from market import catalog, marks, queries
from market.errors import ConflictError, InvalidRequestError, MarketError

if TYPE_CHECKING:
    from market.hedges.records import PlanRequest
    from market.house import House
    from pricing.hedging import HedgeMarket, HedgePlan, UsageForecast

KINDS = {"forward": "forward", "asian": "asian", "option": "european"}
"""The planner's name for each instrument kind of the exchange."""


class PlanUnavailableError(MarketError):
    """The planner could not find an accurate plan (the solver failed): refused, not guessed."""

    code = "plan_unavailable"
    status = 422


def forecast_of(request: PlanRequest, now: datetime | None = None) -> UsageForecast:
    """The request's forecast, validated (errors name ``plan.forecast...``); with ``now``, only the
    periods starting at or after it (a re-plan hedges what is still to come)."""
    from pricing.hedging import HedgeInputError, parse_forecast

    try:
        forecast = parse_forecast(request.forecast, "plan.forecast")
    except HedgeInputError as exc:
        raise InvalidRequestError(exc.reason, field=exc.path) from None
    if now is not None:
        rows = tuple(row for row in forecast.rows if row.start >= now)
        if not rows:
            raise ConflictError(
                "every period of the forecast has begun: nothing is left to plan", field="plan"
            )
        forecast = replace(forecast, rows=rows)
    return forecast


def exchange_market(
    house: House, forecast: UsageForecast, held: Mapping[str, int] | None = None
) -> HedgeMarket:
    """The planner's market snapshot of the exchange now (see the module docstring)."""
    from pricing.hedging import HedgeInstrument, build_market
    from pricing.request import parse_model

    held = held or {}
    now = house.now()
    models, listed = {}, []
    for product in forecast.products:
        instruments = catalog.instruments(house, product=product, status="open")
        forwards = [i for i in instruments if i.kind == "forward"]
        if not forwards:
            continue  # the planner names the forecast row of a product the exchange cannot hedge
        models[product] = parse_model(marks.mark(house, forwards[0].symbol, greeks=False).model, "model")
        for inst in instruments:
            if not now <= inst.window_start < forecast.end:
                continue
            if inst.kind == "option" and inst.expiry <= now:
                continue
            asks = queries.book(house, inst.symbol, depth=1).asks
            have = held.get(inst.symbol, 0)
            if not asks and not have:
                continue
            fair = marks.mark(house, inst.symbol, greeks=False).fair_value_micros / 1e6
            cash = inst.kind == "forward" and inst.settlement == "cash"
            option = inst.kind != "forward"
            listed.append(
                HedgeInstrument(
                    inst.symbol,
                    product,
                    KINDS[inst.kind],  # type: ignore[arg-type]
                    inst.window_start,
                    inst.window_end,
                    asks[0].price_ticks * inst.tick_micros / 1e6 if asks else fair,
                    option_kind=inst.option_kind if option else None,  # type: ignore[arg-type]
                    strike=inst.strike_ticks * inst.tick_micros / 1e6
                    if option and inst.strike_ticks
                    else None,
                    expiry=inst.expiry if inst.kind == "option" else None,
                    margin=inst.margin_per_lot_micros / 1e6 / inst.lot_gpus if cash else 0.0,
                    max_gpus=float((asks[0].qty if asks else 0) * inst.lot_gpus + have),
                    fair=fair,
                )
            )
    return build_market(now, models, tuple(listed), "market.instruments")


def plan_forecast(house: House, request: PlanRequest, held: Mapping[str, int] | None = None) -> HedgePlan:
    """The planner's plan of ``request`` against the exchange now, keeping ``held`` GPUs per symbol;
    refusals name the field (``plan.forecast[3].usage``, ``plan.forecast[0].start``)."""
    from pricing.hedging import HedgeInputError, PlanningError, PlanSettings, plan

    forecast = forecast_of(request, house.now() if held is not None else None)
    try:
        settings = PlanSettings(
            objective=request.objective,
            alpha=request.alpha,
            budget=None if request.budget_micros is None else request.budget_micros / 1e6,
            scenarios=request.scenarios,
            evaluation_scenarios=2 * request.scenarios,
            seed=request.seed,
        )
        market = exchange_market(house, forecast, held)
        listed = {item.symbol for item in market.instruments}
        # a held window already delivering is no longer for sale whole: the planner leaves it out
        return plan(forecast, market, settings, {s: g for s, g in (held or {}).items() if s in listed})
    except HedgeInputError as exc:
        field = exc.path if exc.path.startswith(("plan.", "market.")) else f"plan.{exc.path}"
        raise InvalidRequestError(exc.reason, field=field) from None
    except PlanningError as exc:
        raise PlanUnavailableError(f"the planner could not solve the hedge accurately: {exc}") from None


def plan_summary(result: HedgePlan) -> str:
    """The plan as stored with the hedge (JSON): positions, bills hedged and unhedged, the hedge's cost,
    and the expected usage (GPU-hours); the per-day windows are left to ``flopex hedge plan``."""
    data: dict[str, Any] = result.to_dict()
    del data["windows"], data["timings"]
    data["expected_usage_gpu_hours"] = sum(w.expected for w in result.windows)
    return json.dumps(data, allow_nan=False)
