"""Method selection and the result of one pricing request.

``auto`` takes the exact closed form when one exists for the (model, instrument) pair, LSM for
early exercise, and Monte Carlo otherwise. ``analytic`` and ``quantlib`` are refused, with the
reason, where they do not apply; ``mc`` on a Bermudan or swing means LSM (the Monte Carlo method
for early exercise).
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np

from pricing.analytic import closed_form_gap, price_closed_form
from pricing.analytic.closed_form import underlying_times
from pricing.greeks import greeks
from pricing.instruments import Bermudan, European, Instrument, Swing
from pricing.request import PricingRequest, RequestError, parse_request

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


def valuate(request: PricingRequest, method: Resolved) -> tuple[float, float | None, int | None, str]:
    """(value, standard error, paths, method label) of ``request`` by ``method``."""
    model, instrument, rate = request.model, request.instrument, request.rate
    if method == "analytic":
        return price_closed_form(model, instrument, rate), None, None, "analytic"
    if method == "quantlib":
        from pricing.analytic.quantlib import price_quantlib

        value, std_error, engine = price_quantlib(model, instrument, rate, request.mc)
        return value, std_error, request.mc.paths if std_error is not None else None, f"quantlib:{engine}"
    if method == "lsm":
        from pricing.lsm import price_lsm

        assert isinstance(instrument, Bermudan | Swing)
        result = price_lsm(model, instrument, rate, request.mc)
    else:
        from pricing.montecarlo import price_mc

        result = price_mc(model, instrument, rate, request.mc)  # type: ignore[arg-type]
    return result.value, result.std_error, result.paths, result.method


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
    value, std_error, paths, label = valuate(request, method)
    forward = float(np.mean(request.model.forward(np.asarray(schedule(request.instrument)))))
    sensitivities = None
    if request.greeks:

        def valuer(bumped: PricingRequest) -> float:
            return valuate(bumped, method)[0]

        sensitivities = greeks(request, value, valuer, exact=method == "analytic")
    numbers = [value, forward, *(sensitivities or {}).values()]
    if not all(math.isfinite(x) for x in numbers):
        raise RequestError(
            "model", "these parameters overflow the valuation; reduce the horizon or volatility"
        )
    return {
        "value": value,
        "std_error": std_error,
        "method": label,
        "paths": paths,
        "forward": forward,
        "greeks": sensitivities,
        "elapsed_ms": (time.perf_counter() - start) * 1e3,
    }


def price(request: dict[str, Any]) -> dict[str, Any]:
    """Validate and value one JSON pricing request (schema in docs/pricing.md).

    Raises RequestError naming the offending field.
    """
    return price_request(parse_request(request))
