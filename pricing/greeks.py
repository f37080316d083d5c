"""Greeks by bump-and-reprice with common random numbers.

Each Greek re-values the request with one input moved and everything else -- including the Monte
Carlo seed, hence the random numbers -- unchanged, so the differences are smooth in the bump.
Central differences throughout, except theta near t = 0 (see ``theta``):

- delta, gamma: d/dS(0), d2/dS(0)^2 with S(0) moved through the short-term factor (``spot`` for
  gbm and schwartz1f, ``chi0`` for schwartz_smith, ``x0`` for the OU models);
- vega: d/d(main volatility) (``vol``, or ``sigma_chi`` for schwartz_smith), per unit of vol;
- theta: -dV/dT with every time of the instrument moved together, per year;
- rho: dV/d(rate), per unit of rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from pricing.instruments import (
    Asian,
    Bermudan,
    Cap,
    European,
    Forward,
    ForwardUnderlying,
    Instrument,
    SwapUnderlying,
    Swing,
)
from pricing.models import GBM, ArithmeticOU, JumpOU, Model, Schwartz1F, SchwartzSmith
from pricing.request import PricingRequest

Valuer = Callable[[PricingRequest], float]

EXACT_BUMP = 1e-4
"""Relative bump for exact methods: central differences are then accurate to ~1e-8."""
NOISY_BUMP = 1e-2
"""Relative bump for simulation and grid methods, large enough to dominate their residual noise."""
THETA_STEP = 1.0 / 365.0
"""One day, in years."""


def spot_of(model: Model) -> float:
    """S(0) implied by the model's current state."""
    if isinstance(model, GBM | Schwartz1F):
        return model.spot
    if isinstance(model, SchwartzSmith):
        return math.exp(model.chi0 + model.xi0)
    if isinstance(model, ArithmeticOU):
        return float(model.seasonality(0.0)) + model.x0
    return math.exp(float(model.seasonality(0.0)) + model.x0 + model.y0)


def with_spot(model: Model, spot: float) -> Model:
    """The model with its short-term factor moved so that S(0) = ``spot``."""
    if isinstance(model, GBM | Schwartz1F):
        return replace(model, spot=spot)
    if isinstance(model, SchwartzSmith):
        return replace(model, chi0=math.log(spot) - model.xi0)
    if isinstance(model, ArithmeticOU):
        return replace(model, x0=spot - float(model.seasonality(0.0)))
    assert isinstance(model, JumpOU)
    return replace(model, x0=math.log(spot) - float(model.seasonality(0.0)) - model.y0)


def _vol_name(model: Model) -> str:
    return "sigma_chi" if isinstance(model, SchwartzSmith) else "vol"


def shift_times(instrument: Instrument, dt: float) -> Instrument:
    """The instrument with every time (fixings, expiry, maturities, payment) moved by ``dt``."""

    def moved(times: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(t + dt for t in times)

    if isinstance(instrument, Forward):
        return replace(instrument, fixings=moved(instrument.fixings), payment=instrument.payment + dt)
    if isinstance(instrument, Asian):
        return replace(instrument, fixings=moved(instrument.fixings), payment=instrument.payment + dt)
    if isinstance(instrument, Cap):
        return replace(instrument, fixings=moved(instrument.fixings))
    if isinstance(instrument, Bermudan | Swing):
        return replace(instrument, exercise=moved(instrument.exercise))
    assert isinstance(instrument, European)
    underlying = instrument.underlying
    if isinstance(underlying, ForwardUnderlying):
        underlying = ForwardUnderlying(underlying.maturity + dt)
    elif isinstance(underlying, SwapUnderlying):
        underlying = SwapUnderlying(moved(underlying.fixings))
    return replace(instrument, expiry=instrument.expiry + dt, underlying=underlying)


def earliest_time(instrument: Instrument) -> float:
    """The first time the instrument refers to."""
    if isinstance(instrument, European):
        return instrument.expiry
    if isinstance(instrument, Bermudan | Swing):
        return instrument.exercise[0]
    return instrument.fixings[0]


def greeks(request: PricingRequest, base: float, valuer: Valuer, *, exact: bool) -> dict[str, float]:
    """Delta, gamma, vega, theta and rho of ``request`` whose value is ``base``."""
    eps = EXACT_BUMP if exact else NOISY_BUMP
    model = request.model

    def value(**changes: object) -> float:
        return valuer(replace(request, **changes))

    spot = spot_of(model)
    ds = eps * (abs(spot) if spot != 0.0 else 1.0)
    up, down = value(model=with_spot(model, spot + ds)), value(model=with_spot(model, spot - ds))

    name = _vol_name(model)
    vol = getattr(model, name)
    dv = eps * vol
    vega = value(model=replace(model, **{name: vol + dv})) - value(model=replace(model, **{name: vol - dv}))

    dr = eps * 0.1
    rho = value(rate=request.rate + dr) - value(rate=request.rate - dr)

    if earliest_time(request.instrument) > THETA_STEP:  # shorten every time by a day
        theta = (value(instrument=shift_times(request.instrument, -THETA_STEP)) - base) / THETA_STEP
    else:  # a time at or near 0 cannot move earlier: lengthen instead (same derivative)
        theta = (base - value(instrument=shift_times(request.instrument, THETA_STEP))) / THETA_STEP
    result = {
        "delta": (up - down) / (2.0 * ds),
        "gamma": (up - 2.0 * base + down) / ds**2,
        "vega": vega / (2.0 * dv),
        "theta": theta,
        "rho": rho / (2.0 * dr),
    }
    return {name: float(v) for name, v in result.items()}
