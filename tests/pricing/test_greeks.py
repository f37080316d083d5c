"""Bump-and-reprice Greeks against the Black-Scholes-Merton Greeks, exact and by Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from pricing import price
from pricing.greeks import spot_of, with_spot
from pricing.models import ArithmeticOU, JumpOU, SchwartzSmith, Seasonality

S, K, T, VOL, R, B = 100.0, 105.0, 0.75, 0.35, 0.04, -0.02


def bsm_greeks(kind: str) -> dict[str, float]:
    """Generalised Black-Scholes Greeks with carry b held fixed (rho moves the discount only)."""
    w = 1.0 if kind == "call" else -1.0
    sd = VOL * math.sqrt(T)
    d1 = (math.log(S / K) + (B + 0.5 * VOL**2) * T) / sd
    d2 = d1 - sd
    carry_df, df = math.exp((B - R) * T), math.exp(-R * T)
    value = w * (S * carry_df * norm.cdf(w * d1) - K * df * norm.cdf(w * d2))
    return {
        "value": value,
        "delta": w * carry_df * norm.cdf(w * d1),
        "gamma": carry_df * norm.pdf(d1) / (S * sd),
        "vega": S * carry_df * norm.pdf(d1) * math.sqrt(T),
        "theta": R * value
        - w * B * S * carry_df * norm.cdf(w * d1)
        - S * carry_df * norm.pdf(d1) * VOL / (2 * math.sqrt(T)),
        "rho": -T * value,
    }


def request(kind: str, **extra: object) -> dict:
    return {
        "model": {"type": "gbm", "spot": S, "vol": VOL, "carry": B},
        "rate": R,
        "greeks": True,
        "instrument": {"type": "european", "kind": kind, "strike": K, "expiry": T},
        **extra,
    }


@pytest.mark.parametrize("kind", ["call", "put"])
def test_exact_greeks(kind: str) -> None:
    expected = bsm_greeks(kind)
    greeks = price(request(kind))["greeks"]
    for name in ("delta", "gamma", "vega", "rho"):  # central differences, relative bump 1e-4
        assert greeks[name] == pytest.approx(expected[name], rel=1e-6), name
    # theta is a one-day backward difference: its bias is |V''(T)| h / 2, about 0.1% here.
    assert greeks["theta"] == pytest.approx(expected["theta"], rel=5e-3)


def test_mc_greeks_with_common_random_numbers() -> None:
    """Eight independent seeds give each Greek's mean and standard error; the mean must lie within
    4 standard errors of the exact Greek plus 1% for the finite-difference bias of 1% bumps."""
    expected = bsm_greeks("call")
    runs = [
        price(request("call", method="mc", mc={"paths": 2**14, "seed": seed}))["greeks"] for seed in range(8)
    ]
    for name in ("delta", "gamma", "vega", "theta", "rho"):
        samples = np.array([run[name] for run in runs])
        error = samples.std(ddof=1) / math.sqrt(len(samples))
        assert abs(samples.mean() - expected[name]) < 4 * error + 0.01 * abs(expected[name]), name


@pytest.mark.parametrize(
    "model",
    [
        SchwartzSmith(0.1, 0.6, 1.0, 0.5, 0.0, 0.2, 0.1),
        ArithmeticOU(0.2, 2.0, 0.5, Seasonality(mean=2.0)),
        JumpOU(0.1, 2.0, 0.5, 0.05, 3.0, 0.2, 10.0, Seasonality(mean=0.5)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_spot_moves_through_the_short_term_factor(model: object) -> None:
    moved = with_spot(model, 2.5)
    assert spot_of(moved) == pytest.approx(2.5, rel=1e-14)
    assert float(moved.forward(0.0)) == pytest.approx(2.5, rel=1e-12)


def test_theta_near_time_zero_lengthens_instead() -> None:
    result = price(
        {
            "model": {"type": "gbm", "spot": S, "vol": VOL, "carry": 0.0},
            "rate": R,
            "greeks": True,
            "instrument": {
                "type": "asian",
                "kind": "call",
                "strike": K,
                "average": "geometric",
                "fixings": {"start": 0.0, "end": 0.5, "count": 6},
            },
        }
    )
    assert math.isfinite(result["greeks"]["theta"])
    assert result["greeks"]["theta"] < 0.0
