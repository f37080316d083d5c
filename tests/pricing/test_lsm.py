"""Longstaff-Schwartz for Bermudans and swings against published values and independent references.

Tolerances are multiples of standard errors (stated per test). LSM values carry, besides sampling
noise, a small low bias from the suboptimality of the fitted rule: a few thousandths here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from pricing.instruments import Bermudan, OptionKind, Swing
from pricing.lsm import price_lsm
from pricing.models import GBM, JumpOU, SchwartzSmith
from pricing.settings import MonteCarloSettings

SETTINGS = MonteCarloSettings(paths=100_000, seed=5, sampler="pseudo")
RULE_BIAS = 0.01
"""Allowance for the low bias of a fitted exercise rule on 25,000 regression paths (about 0.2% of value)."""

# Longstaff and Schwartz (2001), Table 1: American put, K = 40, r = 0.06, 50 exercise dates per
# year, 100,000 paths (50,000 antithetic pairs). Columns: S0, sigma, T, finite-difference American
# value, simulated LSM value, its standard error.
LS_TABLE_1 = [
    (36, 0.20, 1, 4.478, 4.472, 0.010),
    (36, 0.20, 2, 4.840, 4.821, 0.012),
    (36, 0.40, 1, 7.101, 7.091, 0.020),
    (36, 0.40, 2, 8.508, 8.488, 0.024),
    (38, 0.20, 1, 3.250, 3.244, 0.009),
    (38, 0.20, 2, 3.745, 3.735, 0.011),
    (38, 0.40, 1, 6.148, 6.139, 0.019),
    (38, 0.40, 2, 7.670, 7.669, 0.022),
    (40, 0.20, 1, 2.314, 2.313, 0.009),
    (40, 0.20, 2, 2.885, 2.879, 0.010),
    (40, 0.40, 1, 5.312, 5.308, 0.018),
    (40, 0.40, 2, 6.920, 6.921, 0.022),
    (42, 0.20, 1, 1.617, 1.617, 0.007),
    (42, 0.20, 2, 2.212, 2.206, 0.010),
    (42, 0.40, 1, 4.582, 4.588, 0.017),
    (42, 0.40, 2, 6.248, 6.243, 0.021),
    (44, 0.20, 1, 1.110, 1.118, 0.007),
    (44, 0.20, 2, 1.690, 1.675, 0.009),
    (44, 0.40, 1, 3.948, 3.957, 0.017),
    (44, 0.40, 2, 5.647, 5.622, 0.021),
]


@pytest.mark.parametrize(("spot", "vol", "maturity", "fd", "simulated", "se"), LS_TABLE_1)
def test_longstaff_schwartz_table_1(
    spot: float, vol: float, maturity: int, fd: float, simulated: float, se: float
) -> None:
    """Within 4 combined standard errors of the published simulation (same exercise grid and path
    count), and below the finite-difference American value (Bermudan <= American) by less than
    4 standard errors plus the rule's bias and the 50-date Bermudan discount."""
    model = GBM(spot=spot, vol=vol, carry=0.06)
    put = Bermudan("put", 40.0, tuple(np.arange(1, 50 * maturity + 1) / 50.0))
    result = price_lsm(model, put, 0.06, SETTINGS)
    assert abs(result.value - simulated) < 4.0 * np.hypot(result.std_error, se), result
    assert result.value < fd + 4.0 * result.std_error
    assert fd - result.value < 4.0 * result.std_error + RULE_BIAS + 0.02, result


TODAY = ql.Date(2, 1, 2025)
WEEKS = [TODAY + 7 * k for k in range(1, 27)]
WEEK_TIMES = tuple(7.0 * k / 365.0 for k in range(1, 27))


def _ql_process(model: GBM, rate: float) -> ql.BlackScholesMertonProcess:
    ql.Settings.instance().evaluationDate = TODAY
    day_count = ql.Actual365Fixed()

    def curve(level: float) -> ql.YieldTermStructureHandle:
        return ql.YieldTermStructureHandle(ql.FlatForward(TODAY, level, day_count))

    vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), model.vol, day_count))
    spot = ql.QuoteHandle(ql.SimpleQuote(model.spot))
    return ql.BlackScholesMertonProcess(spot, curve(rate - model.carry), curve(rate), vol)


def _ql_bermudan(model: GBM, kind: OptionKind, strike: float, rate: float) -> float:
    option_type = ql.Option.Call if kind == "call" else ql.Option.Put
    option = ql.VanillaOption(ql.PlainVanillaPayoff(option_type, strike), ql.BermudanExercise(WEEKS))
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(_ql_process(model, rate), 800, 800))
    return option.NPV()


def _ql_swing(model: GBM, strike: float, rate: float, min_rights: int, max_rights: int) -> float:
    option = ql.VanillaSwingOption(
        ql.VanillaForwardPayoff(ql.Option.Call, strike), ql.SwingExercise(WEEKS), min_rights, max_rights
    )
    option.setPricingEngine(ql.FdSimpleBSSwingEngine(_ql_process(model, rate), 200, 400))
    return option.NPV()


@pytest.mark.parametrize(("kind", "strike"), [("put", 100.0), ("call", 95.0)])
def test_bermudan_matches_quantlib_finite_differences(kind: OptionKind, strike: float) -> None:
    """Against QuantLib's FD Bermudan on the same weekly dates: 4 standard errors plus the rule bias."""
    model = GBM(spot=100.0, vol=0.3, carry=-0.1)  # negative carry makes early exercise of calls pay
    result = price_lsm(model, Bermudan(kind, strike, WEEK_TIMES), 0.05, SETTINGS)
    reference = _ql_bermudan(model, kind, strike, 0.05)
    assert -4.0 * result.std_error - RULE_BIAS * reference < result.value - reference < 4.0 * result.std_error


def test_swing_with_one_right_is_the_bermudan() -> None:
    model = GBM(spot=100.0, vol=0.3, carry=0.0)
    bermudan = price_lsm(model, Bermudan("put", 100.0, WEEK_TIMES), 0.05, SETTINGS)
    swing = price_lsm(model, Swing("put", 100.0, WEEK_TIMES, 0, 1, "vanilla"), 0.05, SETTINGS)
    assert swing == bermudan


def _european_strip(model: GBM, kind: OptionKind, strike: float, rate: float) -> float:
    option_type = ql.Option.Call if kind == "call" else ql.Option.Put
    return sum(
        ql.blackFormula(
            option_type, strike, float(model.forward(t)), model.vol * np.sqrt(t), np.exp(-rate * t)
        )
        for t in WEEK_TIMES
    )


@pytest.mark.parametrize("kind", ["call", "put"])
def test_swing_with_all_rights_is_the_european_strip(kind: OptionKind) -> None:
    """Rights never bind, so every in-the-money date is exercised: 4 standard errors."""
    model = GBM(spot=100.0, vol=0.3, carry=0.02)
    swing = Swing(kind, 101.0, WEEK_TIMES, 0, len(WEEK_TIMES), "vanilla")
    result = price_lsm(model, swing, 0.05, SETTINGS)
    assert abs(result.value - _european_strip(model, kind, 101.0, 0.05)) < 4.0 * result.std_error


def test_swing_forced_on_every_date_is_the_forward_strip() -> None:
    model = GBM(spot=100.0, vol=0.3, carry=0.02)
    n = len(WEEK_TIMES)
    result = price_lsm(model, Swing("call", 101.0, WEEK_TIMES, n, n, "forward"), 0.05, SETTINGS)
    times = np.asarray(WEEK_TIMES)
    exact = float(np.sum(np.exp(-0.05 * times) * (model.forward(times) - 101.0)))
    assert abs(result.value - exact) < 4.0 * result.std_error


@pytest.mark.parametrize(("min_rights", "max_rights"), [(0, 3), (2, 5), (8, 8)])
def test_swing_matches_quantlib_finite_differences(min_rights: int, max_rights: int) -> None:
    """Forward payoff with rights constraints against QuantLib's FdSimpleBSSwingEngine:
    4 standard errors plus the rule bias (1% of value)."""
    model = GBM(spot=100.0, vol=0.4, carry=0.0)
    swing = Swing("call", 100.0, WEEK_TIMES, min_rights, max_rights, "forward")
    result = price_lsm(model, swing, 0.05, SETTINGS)
    reference = _ql_swing(model, 100.0, 0.05, min_rights, max_rights)
    assert -4.0 * result.std_error - RULE_BIAS * abs(reference) < result.value - reference, (
        result,
        reference,
    )
    assert result.value - reference < 4.0 * result.std_error, (result, reference)


@pytest.mark.parametrize(
    "model",
    [
        SchwartzSmith(chi0=0.2, xi0=np.log(2.0), kappa=3.0, sigma_chi=0.7, mu_xi=-0.1, sigma_xi=0.2, rho=0.2),
        JumpOU(x0=0.0, kappa=6.0, vol=0.6, y0=0.0, jump_rate=8.0, jump_mean=0.15, jump_reversion=25.0),
    ],
    ids=["schwartz_smith", "jump_ou"],
)
def test_two_factor_swing_brackets(model: SchwartzSmith | JumpOU) -> None:
    """On two-factor and jump models no reference exists; the swing must sit between the best
    single right (Bermudan) and the European strip, and gain from every extra right."""
    strike = float(model.forward(0.25))
    settings = replace(SETTINGS, paths=50_000)
    one = price_lsm(model, Swing("call", strike, WEEK_TIMES, 0, 1, "vanilla"), 0.05, settings)
    three = price_lsm(model, Swing("call", strike, WEEK_TIMES, 0, 3, "vanilla"), 0.05, settings)
    every = price_lsm(model, Swing("call", strike, WEEK_TIMES, 0, len(WEEK_TIMES), "vanilla"), 0.05, settings)
    assert one.value < three.value < every.value
    assert three.value < 3.0 * one.value + 4.0 * np.hypot(three.std_error, 3.0 * one.std_error)


def test_sobol_valuation_agrees_with_pseudo() -> None:
    model = GBM(spot=40.0, vol=0.2, carry=0.06)
    put = Bermudan("put", 40.0, WEEK_TIMES)
    pseudo = price_lsm(model, put, 0.06, SETTINGS)
    sobol = price_lsm(model, put, 0.06, replace(SETTINGS, sampler="sobol"))
    assert abs(pseudo.value - sobol.value) < 4.0 * np.hypot(pseudo.std_error, sobol.std_error)
    assert sobol.method == pseudo.method == "lsm"


def test_inconsistent_rights_are_rejected() -> None:
    model = GBM(spot=100.0, vol=0.3)
    with pytest.raises(ValueError, match="rights"):
        price_lsm(model, Swing("call", 100.0, WEEK_TIMES[:3], 2, 4, "vanilla"), 0.0, SETTINGS)
