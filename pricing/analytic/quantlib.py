"""QuantLib's own engines, as the independent reference (``method: "quantlib"``).

Each request is rebuilt as a QuantLib instrument on a Black-Scholes-Merton process (gbm: r the
rate, q = r - carry) or, for swings under jump_ou, on an ExtOUWithJumpsProcess (ln S = f + X + Y
with the seasonality f given as the engine's shape). QuantLib dates are whole days, so times are
rounded to the nearest 1/365 of a year from a fixed reference date; requests whose times are not
whole days are valued at the rounded times. The evaluation date is set on every call (QuantLib
keeps it globally).

Engines: AnalyticEuropeanEngine; AnalyticDiscreteGeometricAveragePriceAsianEngine;
MCDiscreteArithmeticAPEngine (pseudo-random: QuantLib's Sobol engine reports no error);
FdBlackScholesVanillaEngine for Bermudans; FdSimpleBSSwingEngine; FdSimpleExtOUJumpSwingEngine.
``turnbull_wakeman`` exposes the Turnbull-Wakeman approximation for arithmetic Asians.
"""

from __future__ import annotations

import QuantLib as ql  # noqa: N813 - the library's own convention

from pricing.calendar import date_at, whole_days
from pricing.instruments import Asian, Bermudan, European, Instrument, SpotUnderlying, Swing
from pricing.models import GBM, JumpOU, Model
from pricing.settings import MonteCarloSettings

REFERENCE_DATE = ql.Date(1, 1, 2030)
"""The valuation date of every QuantLib rebuild (any date works: only day counts matter)."""
DAY_COUNT = ql.Actual365Fixed()
FD_TIME_STEPS = 800
FD_SPACE_STEPS = 800
"""Finite-difference grid for Bermudans and gbm swings: within 1e-3 of the converged value in tests."""
OU_JUMP_GRID = (50, 100, 200)
"""(t, x, y) grid of the jump_ou swing engine. The jump factor needs the fine grid: on a strip of
four calls QuantLib's default (50, 200, 50) is 1.0% above the Monte Carlo value, this one 0.3%."""
ENGINES = {
    "european": "AnalyticEuropeanEngine",
    "geometric": "AnalyticDiscreteGeometricAveragePriceAsianEngine",
    "arithmetic": "MCDiscreteArithmeticAPEngine",
    "bermudan": "FdBlackScholesVanillaEngine",
    "swing": "FdSimpleBSSwingEngine",
    "swing_jump_ou": "FdSimpleExtOUJumpSwingEngine",
}


def _times(instrument: Instrument) -> tuple[float, ...]:
    if isinstance(instrument, European):
        return (instrument.expiry,)
    if isinstance(instrument, Asian):
        return (*instrument.fixings, instrument.payment)
    if isinstance(instrument, Bermudan | Swing):
        return instrument.exercise
    return instrument.fixings


def quantlib_gap(model: Model, instrument: Instrument) -> str | None:
    """None when a QuantLib engine values ``instrument`` under ``model``; otherwise why not."""
    supported = "QuantLib engines cover gbm (European on the spot, Asian, Bermudan, swing) and jump_ou swings"
    if isinstance(model, JumpOU):
        if not isinstance(instrument, Swing):
            return supported
    elif not isinstance(model, GBM):
        return supported
    elif isinstance(instrument, European) and not isinstance(instrument.underlying, SpotUnderlying):
        return "QuantLib's European engine takes the spot as underlying"
    elif not isinstance(instrument, European | Asian | Bermudan | Swing):
        return supported
    days = [whole_days(t) for t in _times(instrument)]
    if days[0] < 1:
        return "QuantLib dates are whole days: every time must be at least 1/365"
    if isinstance(instrument, Asian | Bermudan | Swing):
        schedule = days[:-1] if isinstance(instrument, Asian) else days
        if len(set(schedule)) < len(schedule):
            return "QuantLib dates are whole days: the schedule must not hold two times in one day"
    return None


def _flat(rate: float) -> ql.YieldTermStructureHandle:
    return ql.YieldTermStructureHandle(ql.FlatForward(REFERENCE_DATE, rate, DAY_COUNT))


def _process(model: GBM, rate: float) -> ql.BlackScholesMertonProcess:
    vol = ql.BlackVolTermStructureHandle(
        ql.BlackConstantVol(REFERENCE_DATE, ql.NullCalendar(), model.vol, DAY_COUNT)
    )
    spot = ql.QuoteHandle(ql.SimpleQuote(model.spot))
    return ql.BlackScholesMertonProcess(spot, _flat(rate - model.carry), _flat(rate), vol)


def _dates(times: tuple[float, ...]) -> list[ql.Date]:
    return [date_at(REFERENCE_DATE, t) for t in times]


def _option_type(kind: str) -> int:
    return ql.Option.Call if kind == "call" else ql.Option.Put


def _asian(instrument: Asian, average: int) -> ql.DiscreteAveragingAsianOption:
    payoff = ql.PlainVanillaPayoff(_option_type(instrument.kind), instrument.strike)
    exercise = ql.EuropeanExercise(date_at(REFERENCE_DATE, instrument.payment))
    return ql.DiscreteAveragingAsianOption(average, _dates(instrument.fixings), payoff, exercise)


def price_quantlib(
    model: Model, instrument: Instrument, rate: float, settings: MonteCarloSettings
) -> tuple[float, float | None, str]:
    """(value, standard error or None, engine name); callers check quantlib_gap first."""
    ql.Settings.instance().evaluationDate = REFERENCE_DATE
    if isinstance(model, JumpOU):
        assert isinstance(instrument, Swing)
        return _jump_ou_swing(model, instrument, rate), None, ENGINES["swing_jump_ou"]
    assert isinstance(model, GBM)
    process = _process(model, rate)
    if isinstance(instrument, European):
        payoff = ql.PlainVanillaPayoff(_option_type(instrument.kind), instrument.strike)
        option = ql.VanillaOption(payoff, ql.EuropeanExercise(date_at(REFERENCE_DATE, instrument.expiry)))
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        return option.NPV(), None, ENGINES["european"]
    if isinstance(instrument, Asian) and instrument.average == "geometric":
        option = _asian(instrument, ql.Average.Geometric)
        option.setPricingEngine(ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(process))
        return option.NPV(), None, ENGINES["geometric"]
    if isinstance(instrument, Asian):
        option = _asian(instrument, ql.Average.Arithmetic)
        engine = ql.MCDiscreteArithmeticAPEngine(
            process,
            "pseudorandom",
            antitheticVariate=settings.antithetic,
            controlVariate=settings.control_variate,
            requiredSamples=settings.paths,
            seed=settings.seed % 2**31 + 1,  # QuantLib reads seed 0 as "from the clock"
        )
        option.setPricingEngine(engine)
        return option.NPV(), option.errorEstimate(), ENGINES["arithmetic"]
    if isinstance(instrument, Bermudan):
        payoff = ql.PlainVanillaPayoff(_option_type(instrument.kind), instrument.strike)
        option = ql.VanillaOption(payoff, ql.BermudanExercise(_dates(instrument.exercise)))
        option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, FD_TIME_STEPS, FD_SPACE_STEPS))
        return option.NPV(), None, ENGINES["bermudan"]
    assert isinstance(instrument, Swing)
    option = _swing(instrument)
    option.setPricingEngine(ql.FdSimpleBSSwingEngine(process, FD_TIME_STEPS, FD_SPACE_STEPS))
    return option.NPV(), None, ENGINES["swing"]


def _swing(instrument: Swing) -> ql.VanillaSwingOption:
    """QuantLib's swing pays S - K (or K - S) per exercise; with a vanilla payoff (floored at 0)
    a forced exercise costs nothing, so the minimum number of rights no longer binds."""
    payoff = ql.VanillaForwardPayoff(_option_type(instrument.kind), instrument.strike)
    min_rights = instrument.min_rights if instrument.payoff == "forward" else 0
    exercise = ql.SwingExercise(_dates(instrument.exercise))
    return ql.VanillaSwingOption(payoff, exercise, min_rights, instrument.max_rights)


def _jump_ou_swing(model: JumpOU, instrument: Swing, rate: float) -> float:
    ou = ql.ExtendedOrnsteinUhlenbeckProcess(model.kappa, model.vol, model.x0, lambda _t: 0.0)
    process = ql.ExtOUWithJumpsProcess(
        ou, model.y0, model.jump_reversion, model.jump_rate, 1.0 / model.jump_mean
    )
    option = _swing(instrument)
    times = [DAY_COUNT.yearFraction(REFERENCE_DATE, d) for d in _dates(instrument.exercise)]
    shape = [(t, float(model.seasonality(t))) for t in times]
    t_grid, x_grid, y_grid = OU_JUMP_GRID
    option.setPricingEngine(
        ql.FdSimpleExtOUJumpSwingEngine(process, _flat(rate).currentLink(), t_grid, x_grid, y_grid, shape)
    )
    return option.NPV()


def turnbull_wakeman(model: GBM, instrument: Asian, rate: float) -> float:
    """QuantLib's Turnbull-Wakeman moment-matching approximation of an arithmetic Asian."""
    ql.Settings.instance().evaluationDate = REFERENCE_DATE
    option = _asian(instrument, ql.Average.Arithmetic)
    option.setPricingEngine(ql.TurnbullWakemanAsianEngine(_process(model, rate)))
    return option.NPV()
