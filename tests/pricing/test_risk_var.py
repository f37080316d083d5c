"""VaR and ES: conventions on hand-worked samples, Monte Carlo against the log-normal closed forms,
stress scenarios and the stressed-period volatility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from pricing.risk import Book, Exposure
from pricing.risk.procyclicality import margin_vol, peak_to_trough, rolling_vols, weighted_path
from pricing.risk.scan import ScanParameters
from pricing.risk.stress import SCENARIOS, stress_all
from pricing.risk.var import historical, monte_carlo, var_es

F, VOL, UNITS = 2.0, 0.6, 720.0
LONG = Book.of([Exposure("forward", UNITS, F, 10 / 365, 40 / 365)])


def test_var_and_es_conventions_on_one_to_a_hundred() -> None:
    var, es = var_es(np.arange(1, 101), 0.99, 0.975)
    assert var == 100  # the ceil(100 x 1%) = 1st worst
    assert es == pytest.approx((100 + 99 + 98) / 3)  # ceil(2.5) = 3 worst


def test_historical_var_of_a_long_forward_is_its_worst_move() -> None:
    prices = F * np.exp(np.cumsum(np.r_[0.0, np.linspace(-0.05, 0.05, 200)]))
    figures = historical(LONG, VOL, prices, steps=1)
    returns = np.diff(np.log(prices))
    worst = np.sort(-np.expm1(returns) * F * UNITS)[::-1]
    assert figures.var == pytest.approx(worst[1], rel=1e-12)  # ceil(200 x 1%) = 2nd worst
    assert figures.es == pytest.approx(worst[:5].mean(), rel=1e-12)  # ceil(200 x 2.5%) = 5


def test_monte_carlo_var_and_es_match_the_lognormal_closed_form() -> None:
    """Loss of a long forward = F u (1 - e^(m + s Z)); tolerances are 4 standard errors of the
    sample quantile (sqrt(p(1-p)/n) / phi(z), about 0.03 in z at n = 20,000)."""
    h = 2 / 365
    s, m = VOL * math.sqrt(h), -0.5 * VOL**2 * h
    figures = monte_carlo(LONG, VOL, horizon_days=2, paths=20_000, seed=3)
    z = float(ndtri(0.01))
    exact_var = F * UNITS * (1 - math.exp(m + s * z))
    near = [F * UNITS * (1 - math.exp(m + s * (z + d))) for d in (0.12, -0.12)]
    assert near[0] < figures.var < near[1]
    q = float(ndtri(0.025))
    exact_es = F * UNITS * (1 - math.exp(m + s * s / 2) * ndtr(q - s) / ndtr(q))
    assert figures.es == pytest.approx(exact_es, rel=0.03)
    assert exact_var < exact_es


def test_named_stress_scenarios_on_a_long_forward() -> None:
    results = {r.name: r.pnl for r in stress_all(LONG, VOL)}
    assert results["new_generation"] == pytest.approx(-0.4 * F * UNITS)
    assert results["scarcity_spike"] == pytest.approx(2.0 * F * UNITS)
    blind = ScanParameters().scan_range(VOL) * math.sqrt(9 / 2)  # 2-day range scaled to 2 + 7 days
    assert results["index_outage"] == pytest.approx(-F * UNITS * (1 - math.exp(-blind)), rel=1e-9)
    assert [s.name for s in SCENARIOS] == ["new_generation", "scarcity_spike", "index_outage"]


def test_stressed_period_weight_damps_the_crisis_jump() -> None:
    assert margin_vol(0.3, 1.2) == pytest.approx(math.sqrt(0.75 * 0.09 + 0.25 * 1.44))
    assert margin_vol(0.8, 0.5) == pytest.approx(0.8)  # a stress below today is today
    path = np.r_[np.full(50, 1.2), np.full(100, 0.3), np.full(50, 1.2)]
    raw = peak_to_trough(path[50:])
    damped = peak_to_trough(weighted_path(path)[50:])
    assert raw == pytest.approx(4.0)
    assert damped == pytest.approx(1.2 / math.sqrt(0.75 * 0.09 + 0.25 * 1.44))


def test_rolling_vols_are_the_rms_of_each_window() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    vols = rolling_vols(r, 1 / 8760, 2)
    assert vols == pytest.approx(
        np.sqrt([(1e-4 + 4e-4) / 2 * 8760, (4e-4 + 9e-4) / 2 * 8760, 9e-4 / 2 * 8760])
    )
