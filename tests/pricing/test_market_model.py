"""pricing.market_model: a calibrated model brought to now and to traded forwards, and its margin vol."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pricing.market_model import margin_vol, present
from pricing.request import parse_model

HORIZON = 2 / 365
MONTH = np.linspace(10 / 365, 40 / 365, 31)


def test_gbm_margin_vol_is_its_vol() -> None:
    assert margin_vol({"type": "gbm", "spot": 2.5, "vol": 0.6}, MONTH, HORIZON) == pytest.approx(
        0.6, rel=0.04
    )


def test_a_far_window_of_a_mean_reverting_model_moves_less_than_the_spot() -> None:
    """Schwartz 1F: ln F(h, T) moves by e^(-kappa (T - h)) times the state's move."""
    params = {"type": "schwartz1f", "spot": 2.5, "kappa": 20.0, "alpha": 0.9, "vol": 1.0}
    spot = margin_vol(params, [HORIZON], HORIZON)
    exact = math.sqrt(-math.expm1(-2 * 20.0 * HORIZON) / (2 * 20.0) / HORIZON)
    assert spot == pytest.approx(exact, rel=0.04)
    far = margin_vol(params, MONTH, HORIZON)
    weight = np.mean(np.exp(-20.0 * (MONTH - HORIZON)))
    assert far == pytest.approx(exact * weight, rel=0.06)


def test_present_moves_the_state_and_reprices_a_traded_window() -> None:
    calibrated = pd.Timestamp("2026-11-30T00:00Z")
    params = {"type": "schwartz1f", "spot": 2.5, "kappa": 50.0, "alpha": math.log(2.5), "vol": 0.8}
    history = pd.Series([2.5, 2.6, 2.7], index=pd.date_range(calibrated, periods=3, freq="1h"))
    moved = present(params, calibrated, history)
    assert (moved["spot"], moved["kappa"], moved["alpha"]) == (2.7, 50.0, params["alpha"])
    quote = {"fixings": list(MONTH), "price": 3.0}
    fitted = present(params, calibrated, history, [quote])
    assert fitted["alpha"] > params["alpha"]
    assert parse_model(fitted, "model").forward(MONTH).mean() == pytest.approx(3.0, rel=1e-9)
    with pytest.raises(ValueError, match="at or after the calibration"):
        present(params, calibrated + pd.Timedelta(days=1), history)


def test_two_traded_windows_tilt_a_schwartz_curve_instead_of_averaging_it_flat() -> None:
    calibrated = pd.Timestamp("2026-11-30T00:00Z")
    params = {"type": "schwartz1f", "spot": 2.5, "kappa": 300.0, "alpha": math.log(2.5), "vol": 1.0}
    history = pd.Series([2.5], index=[calibrated])
    december, january = MONTH, MONTH + 31 / 365
    quotes = [{"fixings": list(december), "price": 2.55}, {"fixings": list(january), "price": 2.5}]
    fitted = parse_model(present(params, calibrated, history, quotes), "model")
    assert fitted.forward(december).mean() == pytest.approx(2.55, rel=1e-9)
    assert fitted.forward(january).mean() == pytest.approx(2.5, rel=1e-9)
    untouched = parse_model(present(params, calibrated, history), "model")
    assert untouched.forward(MONTH).mean() == pytest.approx(
        parse_model(params, "model").forward(MONTH).mean(), rel=1e-12
    )
