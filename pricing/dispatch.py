"""Method selection and the result of one pricing request.

``auto`` takes the exact closed form when one exists for the (model, instrument) pair, LSM for
early exercise, and Monte Carlo otherwise. ``analytic`` and ``quantlib`` are refused, with the
reason, where they do not apply; ``mc`` on a Bermudan or swing means LSM (the Monte Carlo method
for early exercise).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pricing.analytic import closed_form_gap, price_closed_form
from pricing.analytic.closed_form import underlying_times
from pricing.greeks import Valuation, greeks
from pricing.instruments import Bermudan, European, Instrument, Swing
from pricing.lsm import Decisions
from pricing.montecarlo.estimator import t_quantile
from pricing.request import NotComputableError, PricingRequest, RequestError, parse_request

Resolved = Literal["analytic", "mc", "lsm", "quantlib"]


def resolve_method(request: PricingRequest) -> Resolved:
    """The method that will value ``request``; RequestError if the asked one cannot."""
    model, instrument = request.model, request.instrument
    early = isinstance(instrument, Bermudan | Swing)
    if request.method == "auto":
        if closed_form_gap(model, instrument) is None:
            return "analytic"
        return "lsm" if early else "mc"
    if request.method == "analytic":
        gap = closed_form_gap(model, instrument)
        if gap is not None:
            raise RequestError("method", f'"analytic" is not available: {gap}')
        return "analytic"
    if request.method == "quantlib":
        from pricing.analytic.quantlib import quantlib_gap

        gap = quantlib_gap(model, instrument)
        if gap is not None:
            raise RequestError("method", f'"quantlib" is not available: {gap}')
        return "quantlib"
    return "lsm" if early else "mc"


@dataclass(frozen=True)
class Outcome:
    """One valuation: the value with its replicates (``Valuation``), standard error and its degrees
    of freedom, paths and method label."""

    valuation: Valuation
    std_error: float | None
    dof: int | None
    paths: int | None
    label: str


def valuate(request: PricingRequest, method: Resolved, decisions: Decisions | None = None) -> Outcome:
    """``request`` valued by ``method`` (for LSM, a bumped revaluation keeping ``decisions``)."""
    model, instrument, rate = request.model, request.instrument, request.rate
    if method == "analytic":
        return Outcome(Valuation(price_closed_form(model, instrument, rate)), None, None, None, "analytic")
    if method == "quantlib":
        from pricing.analytic.quantlib import price_quantlib

        value, std_error, engine = price_quantlib(model, instrument, rate, request.mc)
        mc = std_error is not None
        paths = request.mc.paths if mc else None
        return Outcome(
            Valuation(value), std_error, request.mc.paths - 1 if mc else None, paths, f"quantlib:{engine}"
        )
    if method == "lsm":
        from pricing.lsm import price_lsm

        assert isinstance(instrument, Bermudan | Swing)
        result = price_lsm(model, instrument, rate, request.mc, decisions=decisions)
    else:
        from pricing.montecarlo import price_mc

        result = price_mc(model, instrument, rate, request.mc)  # type: ignore[arg-type]
    valuation = Valuation(result.value, result.replicates)
    return Outcome(valuation, result.std_error, result.dof, result.paths, result.method)


def guarded_valuate(request: PricingRequest, method: Resolved, decisions: Decisions | None = None) -> Outcome:
    """``valuate``, with arithmetic failures (overflow, NaN samples) and QuantLib's engine failures
    turned into ``NotComputableError``; a value that overflows to infinity is caught by the caller."""
    try:
        return valuate(request, method, decisions)
    except RuntimeError as error:  # QuantLib reports its engines' failures as RuntimeError
        if method != "quantlib":
            raise
        raise NotComputableError(
            "method", f'QuantLib could not value this request: {error}; use "auto"'
        ) from None
    except (FloatingPointError, OverflowError, ZeroDivisionError) as error:
        raise NotComputableError(
            "model",
            f"the valuation overflows with these parameters ({error}); reduce the horizon or volatility",
        ) from None


def schedule(instrument: Instrument) -> tuple[float, ...]:
    """The times whose forwards make the instrument's fair forward (see ``window_forward``)."""
    if isinstance(instrument, European):
        return tuple(underlying_times(instrument))
    if isinstance(instrument, Bermudan | Swing):
        return instrument.exercise
    return instrument.fixings


def price_request(request: PricingRequest) -> dict[str, Any]:
    """Value a validated request: the result dict of ``pricing.price``."""
    start = time.perf_counter()
    method = resolve_method(request)
    outcome = guarded_valuate(request, method)
    forward = float(np.mean(request.model.forward(np.asarray(schedule(request.instrument)))))
    sensitivities = errors = None
    if request.greeks:
        decisions = None
        if method == "lsm":
            from pricing.lsm import replicate_rules

            assert isinstance(request.instrument, Bermudan | Swing)
            rules = replicate_rules(request.model, request.instrument, request.rate, request.mc)
            decisions = Decisions(request.model, request.instrument, request.rate, rules)

        def valuer(bumped: PricingRequest) -> Valuation:
            return guarded_valuate(bumped, method, decisions).valuation

        base = outcome.valuation if decisions is None else valuer(request)
        sensitivities, errors = greeks(request, base, valuer, exact=method == "analytic")
    value = outcome.valuation.value
    numbers = [value, forward, *(sensitivities or {}).values(), *(errors or {}).values()]
    if not all(math.isfinite(x) for x in numbers):
        raise NotComputableError(
            "model", "these parameters overflow the valuation; reduce the horizon or volatility"
        )
    interval = None
    if outcome.std_error is not None and outcome.dof is not None:
        half = t_quantile(outcome.dof) * outcome.std_error
        interval = [value - half, value + half]
    return {
        "value": value,
        "std_error": outcome.std_error,
        "interval": interval,
        "method": outcome.label,
        "paths": outcome.paths,
        "forward": forward,
        "greeks": sensitivities,
        "greeks_std_error": errors,
        "elapsed_ms": (time.perf_counter() - start) * 1e3,
    }


def price(request: dict[str, Any]) -> dict[str, Any]:
    """Validate and value one JSON pricing request (schema in docs/pricing.md).

    Raises RequestError naming the offending field.
    """
    return price_request(parse_request(request))
