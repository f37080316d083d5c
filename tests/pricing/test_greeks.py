"""Bump-and-reprice Greeks against the Black-Scholes-Merton Greeks, exact and by Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from pricing import price
from pricing.greeks import spot_of, with_spot
from pricing.models import ArithmeticOU, JumpOU, SchwartzSmith, Seasonality
from tests.pricing.references import jump_ou_put, swing_put_dp

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
    # theta: central difference with a step of min(one day, T / 50): bias about (h / T)^2 / 8.
    assert greeks["theta"] == pytest.approx(expected["theta"], rel=1e-5)


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


def black76_call_theta(spot: float, strike: float, expiry: float, vol: float, rate: float) -> float:
    """-dV/dT of a Black-76 call (carry 0)."""
    sd = vol * math.sqrt(expiry)
    d1 = (math.log(spot / strike) + 0.5 * sd * sd) / sd
    value = math.exp(-rate * expiry) * (spot * norm.cdf(d1) - strike * norm.cdf(d1 - sd))
    return rate * value - math.exp(-rate * expiry) * spot * norm.pdf(d1) * vol / (2.0 * math.sqrt(expiry))


def gbm_call(expiry: float, **extra: object) -> dict:
    return {
        "model": {"type": "gbm", "spot": 2.4, "vol": 0.6},
        "instrument": {"type": "european", "kind": "call", "strike": 2.4, "expiry": expiry},
        "rate": 0.045,
        "greeks": True,
        **extra,
    }


@pytest.mark.parametrize("expiry", [1 / 8760, 1 / 365, 0.25], ids=["hour", "day", "quarter"])
def test_theta_step_scales_with_the_time_to_expiry(expiry: float) -> None:
    """The audit: a one-day forward difference gave 0.33x the truth at one hour, 0.83x at one day."""
    theta = price(gbm_call(expiry))["greeks"]["theta"]
    assert theta == pytest.approx(black76_call_theta(2.4, 2.4, expiry, 0.6, 0.045), rel=1e-4)


def test_mc_theta_of_a_one_day_option() -> None:
    """Monte Carlo theta (step T / 10, common random numbers) within 4 reported s.e. + 1%."""
    result = price(gbm_call(1 / 365, method="mc", mc={"paths": 2**14}))
    expected = black76_call_theta(2.4, 2.4, 1 / 365, 0.6, 0.045)
    error = result["greeks_std_error"]["theta"]
    assert abs(result["greeks"]["theta"] - expected) < 4 * error + 0.01 * abs(expected)


def test_jump_ou_theta_with_common_random_numbers() -> None:
    """jump_ou theta against the Fourier put's central difference; the audit found a 26% sd over
    seeds, from jumps redrawn at every bump. Jumps now come from a grid-free draw."""
    law = {
        "level": 0.9,
        "x0": 0.1,
        "kappa": 5.0,
        "vol": 0.5,
        "y0": 0.0,
        "rate": 5.0,
        "mean": 0.15,
        "reversion": 20.0,
    }
    h = 1e-4
    up, down = jump_ou_put(2.5, expiry=0.05 + h, **law), jump_ou_put(2.5, expiry=0.05 - h, **law)
    expected = -(up - down) / (2 * h)
    model = {
        "type": "jump_ou",
        "x0": 0.1,
        "kappa": 5.0,
        "vol": 0.5,
        "jump_rate": 5.0,
        "jump_mean": 0.15,
        "jump_reversion": 20.0,
        "seasonality": {"mean": 0.9},
    }
    thetas = []
    for seed in range(3):
        result = price(
            {
                "model": model,
                "instrument": {"type": "european", "kind": "put", "strike": 2.5, "expiry": 0.05},
                "greeks": True,
                "mc": {"paths": 2**14, "seed": seed},
            }
        )
        theta, error = result["greeks"]["theta"], result["greeks_std_error"]["theta"]
        assert abs(theta - expected) < 4 * error + 0.01 * abs(expected), (theta, error, expected)
        assert error < 0.05 * abs(expected)
        thetas.append(theta)
    assert np.std(thetas, ddof=1) < 0.1 * abs(expected)


SWING_DATES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


def swing_request(seed: int) -> dict:
    return {
        "model": {"type": "gbm", "spot": 2.4, "vol": 0.6},
        "instrument": {
            "type": "swing",
            "kind": "put",
            "strike": 2.4,
            "exercise": SWING_DATES,
            "max_rights": 3,
            "payoff": "vanilla",
        },
        "rate": 0.045,
        "greeks": True,
        "mc": {"paths": 20_000, "seed": seed},
    }


def test_lsm_greeks_hold_the_exercise_decisions() -> None:
    """Swing rho and delta against dynamic programming (the audit: rho -0.105 .. -1.16 over five
    seeds against -0.0716). The LSM rule is suboptimal, so the value sits slightly low; the Greeks,
    with the decisions held and one rule per replicate, lie within 4 of their reported s.e. plus
    1% (the rules' residual bias) of the DP Greeks."""
    dp = {
        "rho": (
            swing_put_dp(2.4, 0.6, 0.045 + 1e-4, 2.4, SWING_DATES, 3)
            - swing_put_dp(2.4, 0.6, 0.045 - 1e-4, 2.4, SWING_DATES, 3)
        )
        / 2e-4,
        "delta": (
            swing_put_dp(2.4 + 2.4e-3, 0.6, 0.045, 2.4, SWING_DATES, 3)
            - swing_put_dp(2.4 - 2.4e-3, 0.6, 0.045, 2.4, SWING_DATES, 3)
        )
        / 4.8e-3,
    }
    rhos = []
    for seed in range(2):
        result = price(swing_request(seed))
        for name, expected in dp.items():
            greek, error = result["greeks"][name], result["greeks_std_error"][name]
            assert abs(greek - expected) < 4 * error + 0.01 * abs(expected), (name, greek, error, expected)
        rhos.append(result["greeks"]["rho"])
    assert max(rhos) - min(rhos) < 0.1 * abs(dp["rho"])


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
