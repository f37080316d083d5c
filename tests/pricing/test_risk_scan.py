"""The margin scan against hand-worked books and the pricing core's own valuations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pricing
from pricing.risk import Book, Exposure, ScanParameters, scan
from pricing.risk.book import asian_log_variance
from pricing.risk.scan import scenarios, standalone_sum

Z99 = 2.3263478740408408  # published 99% standard normal quantile
F, VOL = 2.0, 0.6
MONTH = (10 / 365, 40 / 365)  # a 30-day window starting in 10 days
L = Z99 * VOL * math.sqrt(2 / 365)
UNITS = 720.0  # one lot of a 30-day month (GPU-hours)


def forward(units: float, start_day: float, days: float) -> Exposure:
    return Exposure("forward", units, F, start_day / 365, (start_day + days) / 365)


def test_scan_range_is_the_two_day_99_quantile_with_a_five_percent_floor() -> None:
    params = ScanParameters()
    assert params.scan_range(VOL) == pytest.approx(L, rel=1e-12)
    assert params.scan_range(0.05) == pytest.approx(math.log(1.05), rel=1e-12)


def test_sixteen_scenarios_as_in_span() -> None:
    steps, vols, cover = scenarios(ScanParameters())
    assert len(steps) == 16
    assert sorted(set(np.round(steps, 6))) == sorted(
        set(np.round([0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1, -1, 2, -2], 6))
    )
    assert sorted(cover)[:2] == [0.35, 0.35]
    assert set(vols) == {0.25, -0.25, 0.0}


def test_single_long_forward_loses_the_one_scan_range_down_move() -> None:
    result = scan(Book.of([forward(UNITS, 10, 30)]), VOL)
    down = F * UNITS * (1 - math.exp(-L))
    extreme = 0.35 * F * UNITS * (1 - math.exp(-2 * L))
    assert result.scan_risk == pytest.approx(max(down, extreme), rel=1e-12)
    assert result.spread_charge == 0
    assert result.floor == pytest.approx(0.25 * math.expm1(L) * F * UNITS, rel=1e-9)
    assert result.margin == result.scan_risk


def test_single_short_forward_loses_the_up_move() -> None:
    result = scan(Book.of([forward(-UNITS, 10, 30)]), VOL)
    assert result.margin == pytest.approx(F * UNITS * math.expm1(L), rel=1e-12)


def test_long_month_against_its_thirty_days_is_fully_hedged() -> None:
    legs = [forward(UNITS, 10, 30)] + [forward(-24.0, 10 + d, 1) for d in range(30)]
    assert scan(Book.of(legs), VOL).margin == pytest.approx(0.0, abs=1e-9)


def test_long_month_short_week_inside_margins_as_the_uncovered_days() -> None:
    hedged = scan(Book.of([forward(UNITS, 10, 30), forward(-168.0, 17, 7)]), VOL)
    remainder = scan(Book.of([forward(UNITS - 168.0, 10, 23)]), VOL)
    assert hedged.margin == pytest.approx(remainder.margin, rel=1e-9)
    assert hedged.spread_charge == pytest.approx(0.0, abs=1e-9)  # nothing offsets across different days


def test_calendar_spread_is_charged_by_the_spread_rule_not_zero() -> None:
    result = scan(Book.of([forward(UNITS, 10, 30), forward(-UNITS, 40, 30)]), VOL)
    assert result.scan_risk == pytest.approx(0.0, abs=1e-9)
    move = math.expm1(L)
    assert result.spread_charge == pytest.approx(0.3 * move * F * UNITS, rel=1e-9)
    assert result.floor == pytest.approx(0.25 * move * F * 2 * UNITS, rel=1e-9)
    assert result.margin == pytest.approx(max(result.spread_charge, result.floor), rel=1e-12)
    assert result.margin < standalone_sum(Book.of([forward(UNITS, 10, 30), forward(-UNITS, 40, 30)]), VOL)


def test_european_revaluation_matches_the_pricing_core() -> None:
    """A call on the window average, expiring before delivery, against pricing.price's closed form."""
    expiry, strike = 8 / 365, 2.2
    book = Book.of([Exposure("call", -UNITS, F, *MONTH, strike=strike, expiry=expiry)])
    for factor, vol in [(1.0, VOL), (math.exp(L), VOL * 1.25), (math.exp(-2 * L), VOL)]:
        ours = book.values(np.array([[factor]]), np.array([[vol]]))[0, 0]
        fixings = [10 / 365 + d / 365 for d in range(30)]
        core = pricing.price(
            {
                "model": {"type": "gbm", "spot": F * factor, "vol": vol, "carry": 0.0},
                "instrument": {
                    "type": "european",
                    "kind": "call",
                    "strike": strike,
                    "expiry": expiry,
                    "underlying": {"swap": fixings},
                },
                "rate": 0.0,
                "method": "analytic",
            }
        )["value"]
        assert ours == pytest.approx(core, rel=1e-9)


def test_asian_moment_matching_is_within_a_percent_of_monte_carlo() -> None:
    """The scan's Asian value against the pricing core's Monte Carlo on a daily grid (SE ~0.1%)."""
    strike = 2.0
    book = Book.of([Exposure("asian_put", UNITS, F, *MONTH, strike=strike)])
    ours = book.values(np.ones((1, 1)), np.array([[VOL]]))[0, 0]
    core = pricing.price(
        {
            "model": {"type": "gbm", "spot": F, "vol": VOL, "carry": 0.0},
            "instrument": {
                "type": "asian",
                "kind": "put",
                "strike": strike,
                "average": "arithmetic",
                "fixings": {"start": 10.5 / 365, "end": 39.5 / 365, "count": 30},
            },
            "rate": 0.0,
            "mc": {"paths": 100_000, "seed": 1},
        }
    )
    assert abs(ours - core["value"]) < 0.01 * core["value"] + 4 * core["std_error"]


def test_asian_log_variance_matches_a_numerical_double_integral() -> None:
    a, b, c = 0.05, 0.15, VOL**2
    grid = np.linspace(a, b, 2001)
    mid = (grid[:-1] + grid[1:]) / 2
    second_moment = np.mean(np.exp(c * np.minimum.outer(mid, mid)))
    assert asian_log_variance(VOL, np.array([a]), np.array([b]))[0] == pytest.approx(
        math.log(second_moment), rel=1e-5
    )


def test_short_call_covered_by_long_forward_margins_less_than_alone() -> None:
    call = Exposure("call", -UNITS, F, *MONTH, strike=2.0, expiry=8 / 365)
    alone = scan(Book.of([call]), VOL).margin
    covered = scan(Book.of([call, forward(UNITS, 10, 30)]), VOL).margin
    assert 0 < covered < alone


def test_far_out_of_the_money_write_holds_the_short_option_minimum() -> None:
    call = Exposure("call", -UNITS, F, *MONTH, strike=50.0, expiry=8 / 365)
    result = scan(Book.of([call]), VOL)
    assert result.margin == pytest.approx(0.005 * F * UNITS, rel=1e-6)


def test_margin_rises_with_volatility_and_refuses_nonsense() -> None:
    book = Book.of([forward(UNITS, 10, 30)])
    assert scan(book, 0.9).margin > scan(book, 0.6).margin > scan(book, 0.3).margin
    with pytest.raises(ValueError, match="volatility"):
        scan(book, float("nan"))
    with pytest.raises(ValueError, match="window"):
        Book.of([Exposure("forward", 1.0, F, 0.2, 0.1)])
