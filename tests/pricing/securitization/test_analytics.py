"""Tranche analytics on the hand-worked deal (exact figures) and on a risky pool (signs, scenarios)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pricing.securitization.analytics import analyse, discount_factors, tranche_metrics, value
from pricing.securitization.deal import Discount
from tests.pricing.securitization.deals import HAND_WORKED, deal_of, three_tranche
from tests.pricing.securitization.test_waterfall import HAND_TABLE

TIMES = np.arange(1, 6) / 12.0
CASH_A = np.array([row[2] + row[4] for row in HAND_TABLE])
PRINCIPAL_A = np.array([row[4] for row in HAND_TABLE])


def test_hand_worked_deal_price_yield_wal_and_duration() -> None:
    deal = deal_of(HAND_WORKED, discount={"rate": 0.05, "spread": 0.01}, quotes={"A": 100.0})
    a, b = tranche_metrics(value(deal))
    assert a.price == pytest.approx(100.0 * CASH_A @ np.exp(-0.06 * TIMES) / 20000.0, rel=1e-12)
    assert a.price_std_error == 0.0
    assert a.price_basis == "quote"
    assert b.price_basis == "model"
    assert np.sum(CASH_A * np.exp(-a.yield_at_price * TIMES)) == pytest.approx(20000.0, rel=1e-10)
    assert a.spread_at_price == pytest.approx(a.yield_at_price - 0.05, abs=1e-10)
    assert a.wal == pytest.approx(TIMES @ PRINCIPAL_A / 20000.0, rel=1e-12)
    weights = CASH_A * np.exp(-a.yield_at_price * TIMES)
    assert a.duration == pytest.approx(TIMES @ weights / weights.sum(), rel=1e-10)
    assert (a.expected_loss, a.loss_probability) == (0.0, 0.0)
    assert b.expected_loss == pytest.approx(1618.448 / 10000.0, rel=1e-12)
    assert b.loss_probability == 1.0
    assert b.yield_at_price == pytest.approx(0.06, abs=1e-10)  # at the model price: the curve plus spread
    assert a.breach_probability == 1.0  # period 2 breaches A's test


def test_discount_curve_interpolates_zero_rates_and_extrapolates_flat() -> None:
    curve = Discount(curve=((0.5, 0.02), (1.0, 0.04)), spread=0.01)
    got = discount_factors(curve, np.array([0.25, 0.75, 2.0]))
    expected = np.exp(-np.array([0.03 * 0.25, 0.04 * 0.75, 0.05 * 2.0]))
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_risky_pool_analysis_signs_and_scenarios() -> None:
    analysis, base = analyse(deal_of(three_tranche(paths=2000)))
    assert analysis.max_conservation_error < 1e-6 * analysis.pool_cash
    senior, mezz, junior = analysis.tranches
    assert senior.expected_loss <= mezz.expected_loss <= junior.expected_loss
    assert senior.loss_probability <= mezz.loss_probability <= junior.loss_probability
    assert senior.wal < mezz.wal < junior.wal  # sequential amortisation
    for name, moves in analysis.sensitivities.items():
        assert moves["level"] > 0.0, name
        assert moves["utilisation"] > 0.0, name
        assert moves["intensity"] < 0.0, name
        assert moves["vol"] < 0.0, name
    rows = {(r.scenario, r.tranche): r for r in analysis.scenarios}
    for stress in ("generation_shock", "utilisation_slump", "provider_default"):
        for note in "ABC":
            assert rows[(stress, note)].expected_loss >= rows[("base", note)].expected_loss, (stress, note)
            assert rows[(stress, note)].price <= rows[("base", note)].price + 1e-9, (stress, note)
    assert rows[("base", "A")].price == senior.price
    assert math.isfinite(analysis.equity)
    assert analysis.equity > 0.0
    assert base.flows.writedown.shape == (3, 2000)
