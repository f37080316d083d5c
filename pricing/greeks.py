"""Greeks by bump-and-reprice with common random numbers, with their standard errors.

Each Greek re-values the request with one input moved and everything else -- including the Monte
Carlo seed, hence the random numbers, and for LSM the exercise rule fitted for the base request --
unchanged, so the differences are smooth in the bump. Each Greek is a fixed linear combination of
revaluations (a difference quotient); for simulation methods the same combination of the paired
replicate estimates (``Valuation.replicates``: independent replicates, each a complete estimate with
the same random numbers in every revaluation) gives one estimate of the Greek per replicate, and
their spread its standard error (Student t with replicates - 1 degrees of freedom).

- delta, gamma: d/dS(0), d2/dS(0)^2 with S(0) moved through the short-term factor (``spot`` for
  gbm and schwartz1f, ``chi0`` for schwartz_smith, ``x0`` for the OU models), central;
- vega: d/d(main volatility) (``vol``, or ``sigma_chi`` for schwartz_smith), per unit of vol, central;
- theta: -dV/dT with every time of the instrument moved together, per year (see ``theta_terms``:
  a central difference whose step scales with the time to the first date, so a one-hour option gets
  a step of minutes, not a day);
- rho: dV/d(rate), per unit of rate, central.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

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

EXACT_BUMP = 1e-4
"""Relative bump for exact methods: central differences are then accurate to ~1e-8."""
NOISY_BUMP = 1e-2
"""Relative bump for simulation and grid methods, large enough to dominate their residual noise."""
THETA_STEP = 1.0 / 365.0
"""One day, in years: the largest theta step."""
THETA_SHARE_EXACT = 0.02
"""Theta step of exact methods as a share of the time to the first date."""
THETA_SHARE_NOISY = 0.1
"""Theta step of simulation and grid methods as a share of the time to the first date."""


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


@dataclass(frozen=True)
class Valuation:
    """A value and, for simulation methods, the estimates of its independent replicates (equal
    weight, their mean is ``value``), paired across revaluations by common random numbers."""

    value: float
    replicates: tuple[float, ...] | None = None


Valuer = Callable[[PricingRequest], Valuation]
Terms = list[tuple[float, Valuation]]
"""A difference quotient: the Greek is sum(weight * valuation)."""


def instrument_times(instrument: Instrument) -> tuple[float, ...]:
    """Every time the instrument refers to."""
    if isinstance(instrument, European):
        underlying = instrument.underlying
        if isinstance(underlying, ForwardUnderlying):
            return (instrument.expiry, underlying.maturity)
        if isinstance(underlying, SwapUnderlying):
            return (instrument.expiry, *underlying.fixings)
        return (instrument.expiry,)
    if isinstance(instrument, Bermudan | Swing):
        return instrument.exercise
    if isinstance(instrument, Forward | Asian):
        return (*instrument.fixings, instrument.payment)
    return instrument.fixings


def theta_terms(
    request: PricingRequest, base: Valuation, value: Callable[..., Valuation], *, exact: bool
) -> Terms:
    """-dV/dT as a difference quotient in a shift h of every time of the instrument.

    h = min(one day, share x the first positive time): share THETA_SHARE_EXACT for exact methods
    (the central difference's relative error is about (h / T)^2 / 8 for an option near expiry,
    ~5e-5), THETA_SHARE_NOISY for simulation (larger, so the difference dominates the residual
    noise). Central, (V(T - h) - V(T + h)) / 2h, when every time can move back by h; otherwise
    (a time at 0, already fixed) the one-sided second-order -(-3 V(T) + 4 V(T + h) - V(T + 2h)) / 2h.
    """
    times = instrument_times(request.instrument)
    scale = min((t for t in times if t > 0.0), default=THETA_STEP)
    h = min(THETA_STEP, (THETA_SHARE_EXACT if exact else THETA_SHARE_NOISY) * scale)
    instrument = request.instrument

    def shifted(dt: float) -> Valuation:
        return value(instrument=shift_times(instrument, dt))

    if min(times) >= h:
        return [(0.5 / h, shifted(-h)), (-0.5 / h, shifted(h))]
    return [(1.5 / h, base), (-2.0 / h, shifted(h)), (0.5 / h, shifted(2.0 * h))]


def _combine(terms: Terms) -> tuple[float, float | None]:
    """The Greek and its standard error (None for exact methods)."""
    greek = sum(weight * v.value for weight, v in terms)
    replicated = [v.replicates for _, v in terms]
    if any(r is None for r in replicated):
        return float(greek), None
    per_replicate = sum(weight * np.asarray(r) for (weight, _), r in zip(terms, replicated, strict=True))
    spread = float(np.std(per_replicate, ddof=1) / np.sqrt(per_replicate.size))
    return float(greek), spread


def greeks(
    request: PricingRequest, base: Valuation, valuer: Valuer, *, exact: bool
) -> tuple[dict[str, float], dict[str, float] | None]:
    """Delta, gamma, vega, theta and rho of ``request`` whose valuation is ``base``, and their
    standard errors (None for exact methods)."""
    eps = EXACT_BUMP if exact else NOISY_BUMP
    model = request.model

    def value(**changes: object) -> Valuation:
        return valuer(replace(request, **changes))

    spot = spot_of(model)
    ds = eps * (abs(spot) if spot != 0.0 else 1.0)
    up, down = value(model=with_spot(model, spot + ds)), value(model=with_spot(model, spot - ds))

    name = _vol_name(model)
    vol = getattr(model, name)
    dv = eps * vol
    vol_up, vol_down = (
        value(model=replace(model, **{name: vol + dv})),
        value(model=replace(model, **{name: vol - dv})),
    )

    dr = eps * 0.1
    rate_up, rate_down = value(rate=request.rate + dr), value(rate=request.rate - dr)

    terms: dict[str, Terms] = {
        "delta": [(0.5 / ds, up), (-0.5 / ds, down)],
        "gamma": [(1.0 / ds**2, up), (-2.0 / ds**2, base), (1.0 / ds**2, down)],
        "vega": [(0.5 / dv, vol_up), (-0.5 / dv, vol_down)],
        "theta": theta_terms(request, base, value, exact=exact),
        "rho": [(0.5 / dr, rate_up), (-0.5 / dr, rate_down)],
    }
    combined = {name: _combine(t) for name, t in terms.items()}
    values = {name: g for name, (g, _) in combined.items()}
    errors = {name: e for name, (_, e) in combined.items()}
    if any(e is None for e in errors.values()):
        return values, None
    return values, {name: float(e) for name, e in errors.items() if e is not None}
