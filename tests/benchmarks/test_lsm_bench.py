"""Benchmark 3 (issue 3): LSM Bermudan put against QuantLib's MCAmericanEngine.

Put, S0 = 36, K = 40, r = 6%, vol 20%, 50 weekly exercise dates over 350 days (times 7k/365, so
QuantLib's 50 time steps fall on the same dates). Reference value: QuantLib's
FdBlackScholesVanillaEngine on a BermudanExercise with those dates (2000 x 2000 grid; halving it
moves the value by under 1e-5). Both Monte Carlo engines get the same number of paths: QuantLib
with antithetic pseudo-random samples, cubic monomials and a quarter of the paths for
calibration; flopex with its default settings (Sobol with a Brownian bridge, antithetic, a quarter
of the paths for the regression).

Figures: time(QuantLib) / time(flopex), and each error against the FD value in units of its own
standard error. Asserted: flopex within 4 standard errors plus the rule's low bias (0.01) of the
FD value, and a speed-ratio floor of 2 (measured about 10 on an idle machine). Default size 20,000
paths; the full 100,000 runs under ``-m slow``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from pricing.instruments import Bermudan
from pricing.lsm import price_lsm
from pricing.models import GBM
from pricing.settings import MonteCarloSettings

SPOT, STRIKE, RATE, VOL = 36.0, 40.0, 0.06, 0.2
DATES = 50
SPEED_FLOOR = 2.0
RULE_BIAS = 0.01
ROUNDS = 3
TODAY = ql.Date(2, 1, 2025)


def _process() -> ql.BlackScholesMertonProcess:
    ql.Settings.instance().evaluationDate = TODAY
    day_count = ql.Actual365Fixed()

    def curve(level: float) -> ql.YieldTermStructureHandle:
        return ql.YieldTermStructureHandle(ql.FlatForward(TODAY, level, day_count))

    vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), VOL, day_count))
    return ql.BlackScholesMertonProcess(ql.QuoteHandle(ql.SimpleQuote(SPOT)), curve(0.0), curve(RATE), vol)


def _fd_reference() -> float:
    exercise = ql.BermudanExercise([TODAY + 7 * k for k in range(1, DATES + 1)])
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, STRIKE), exercise)
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(_process(), 2000, 2000))
    return option.NPV()


def _quantlib(paths: int) -> tuple[float, float, float]:
    """(seconds, value, standard error) of QuantLib's LSM engine, best time of ROUNDS."""
    best = (np.inf, 0.0, 0.0)
    for _ in range(ROUNDS):
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Put, STRIKE), ql.AmericanExercise(TODAY, TODAY + 7 * DATES)
        )
        engine = ql.MCAmericanEngine(
            _process(),
            "pseudorandom",
            timeSteps=DATES,
            antitheticVariate=True,
            requiredSamples=paths // 2,  # antithetic pairs
            seed=42,
            polynomOrder=3,
            nCalibrationSamples=paths // 4,
        )
        option.setPricingEngine(engine)
        start = time.perf_counter()
        value = option.NPV()
        elapsed = time.perf_counter() - start
        if elapsed < best[0]:
            best = (elapsed, value, option.errorEstimate())
    return best


def _flopex(paths: int) -> tuple[float, float, float]:
    model = GBM(spot=SPOT, vol=VOL, carry=RATE)
    put = Bermudan("put", STRIKE, tuple(7.0 * k / 365.0 for k in range(1, DATES + 1)))
    settings = MonteCarloSettings(paths=paths, seed=42)
    best = (np.inf, 0.0, 0.0)
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = price_lsm(model, put, RATE, settings)
        elapsed = time.perf_counter() - start
        if elapsed < best[0]:
            best = (elapsed, result.value, result.std_error)
    return best


def _benchmark(benchmark: Any, paths: int) -> None:
    reference = _fd_reference()
    ql_seconds, ql_value, ql_error = _quantlib(paths)
    seconds, value, std_error = _flopex(paths)
    model = GBM(spot=SPOT, vol=VOL, carry=RATE)
    put = Bermudan("put", STRIKE, tuple(7.0 * k / 365.0 for k in range(1, DATES + 1)))
    benchmark.pedantic(price_lsm, args=(model, put, RATE, MonteCarloSettings(paths=paths, seed=42)), rounds=1)
    figures = {
        "paths": paths,
        "fd_value": reference,
        "quantlib_ms": ql_seconds * 1e3,
        "quantlib_value": ql_value,
        "quantlib_std_error": ql_error,
        "quantlib_error_in_se": (ql_value - reference) / ql_error,
        "flopex_ms": seconds * 1e3,
        "flopex_value": value,
        "flopex_std_error": std_error,
        "flopex_error_in_se": (value - reference) / std_error,
        "speed_ratio": ql_seconds / seconds,
    }
    benchmark.extra_info.update(figures)
    print("\nlsm benchmark:", ", ".join(f"{k}={v:.6g}" for k, v in figures.items()))
    assert abs(value - reference) < 4.0 * std_error + RULE_BIAS
    assert figures["speed_ratio"] > SPEED_FLOOR


def test_lsm_bermudan_against_quantlib(benchmark: Any) -> None:
    _benchmark(benchmark, 20_000)


@pytest.mark.slow
def test_lsm_bermudan_against_quantlib_full_size(benchmark: Any) -> None:
    _benchmark(benchmark, 100_000)
