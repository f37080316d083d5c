"""Closed forms against published tables, identities, independent integrals and Monte Carlo."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy.stats import norm

from pricing import price
from pricing.analytic import basket
from pricing.instruments import European, Forward, SwapUnderlying
from pricing.models import GBM, ArithmeticOU, JumpOU, Schwartz1F, SchwartzSmith, Seasonality, SeasonalTerm
from pricing.montecarlo import price_mc
from pricing.settings import MonteCarloSettings

# Haug (1998), "The Complete Guide to Option Pricing Formulas", pp. 2-8 and 24 (QuantLib's
# europeanoption test): kind, strike, spot, dividend yield q, rate r, time, vol, value. Rows with
# q = r are Black-76 options on futures (carry 0). Values are printed to 4 decimals, hence 1e-4.
HAUG = [
    ("call", 65.0, 60.0, 0.00, 0.08, 0.25, 0.30, 2.1334),
    ("put", 95.0, 100.0, 0.05, 0.10, 0.50, 0.20, 2.4648),
    ("put", 19.0, 19.0, 0.10, 0.10, 0.75, 0.28, 1.7011),
    ("call", 19.0, 19.0, 0.10, 0.10, 0.75, 0.28, 1.7011),
    ("call", 1.60, 1.56, 0.08, 0.06, 0.50, 0.12, 0.0291),
    ("put", 70.0, 75.0, 0.05, 0.10, 0.50, 0.35, 4.0870),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.10, 0.15, 0.0205),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.10, 0.15, 1.8734),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.10, 0.15, 9.9413),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.10, 0.25, 0.3150),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.10, 0.25, 3.1217),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.10, 0.25, 10.3556),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.10, 0.35, 0.9474),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.10, 0.35, 4.3693),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.10, 0.35, 11.1381),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.50, 0.15, 0.8069),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.50, 0.15, 4.0232),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.50, 0.15, 10.5769),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.50, 0.25, 2.7026),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.50, 0.25, 6.6997),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.50, 0.25, 12.7857),
    ("call", 100.0, 90.0, 0.10, 0.10, 0.50, 0.35, 4.9329),
    ("call", 100.0, 100.0, 0.10, 0.10, 0.50, 0.35, 9.3679),
    ("call", 100.0, 110.0, 0.10, 0.10, 0.50, 0.35, 15.3086),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.10, 0.15, 9.9210),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.10, 0.15, 1.8734),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.10, 0.15, 0.0408),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.10, 0.25, 10.2155),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.10, 0.25, 3.1217),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.10, 0.25, 0.4551),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.10, 0.35, 10.8479),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.10, 0.35, 4.3693),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.10, 0.35, 1.2376),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.50, 0.15, 10.3192),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.50, 0.15, 4.0232),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.50, 0.15, 1.0646),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.50, 0.25, 12.2149),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.50, 0.25, 6.6997),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.50, 0.25, 3.2734),
    ("put", 100.0, 90.0, 0.10, 0.10, 0.50, 0.35, 14.4452),
    ("put", 100.0, 100.0, 0.10, 0.10, 0.50, 0.35, 9.3679),
    ("put", 100.0, 110.0, 0.10, 0.10, 0.50, 0.35, 5.7963),
    ("call", 40.0, 42.0, 0.08, 0.04, 0.75, 0.35, 5.0975),
]


def gbm(spot: float, vol: float, carry: float) -> dict[str, Any]:
    return {"type": "gbm", "spot": spot, "vol": vol, "carry": carry}


@pytest.mark.parametrize(("kind", "strike", "spot", "q", "r", "t", "vol", "expected"), HAUG)
def test_haug_european_table(
    kind: str, strike: float, spot: float, q: float, r: float, t: float, vol: float, expected: float
) -> None:
    result = price(
        {
            "model": gbm(spot, vol, r - q),
            "rate": r,
            "method": "analytic",
            "instrument": {"type": "european", "kind": kind, "strike": strike, "expiry": t},
        }
    )
    assert result["value"] == pytest.approx(expected, abs=1e-4)
    assert result["std_error"] is None


def test_clewlow_strickland_geometric_asian() -> None:
    """Clewlow-Strickland pp. 118-123: 10 fixings 36 days apart (Act/360: 0.1 years), paid at 1y.
    QuantLib reproduces 5.3425606635 to 1e-10; an exact formula must too."""
    result = price(
        {
            "model": gbm(100.0, 0.2, 0.06 - 0.03),
            "rate": 0.06,
            "method": "analytic",
            "instrument": {
                "type": "asian",
                "kind": "call",
                "strike": 100.0,
                "average": "geometric",
                "fixings": {"start": 0.1, "end": 1.0, "count": 10},
            },
        }
    )
    assert result["value"] == pytest.approx(5.3425606635, abs=1e-9)


SEASON = Seasonality(mean=2.0, trend=-0.3, terms=(SeasonalTerm(0.25, 1.0, 0.1), SeasonalTerm(0.1, 1 / 52)))
MODELS = {
    "gbm": {"type": "gbm", "spot": 2.0, "vol": 0.5, "carry": -0.1},
    "schwartz1f": {"type": "schwartz1f", "spot": 2.2, "kappa": 1.5, "alpha": 0.6, "vol": 0.6},
    "schwartz_smith": {
        "type": "schwartz_smith",
        "chi0": 0.15,
        "xi0": 0.65,
        "kappa": 1.2,
        "sigma_chi": 0.7,
        "lambda_chi": 0.05,
        "mu_xi": -0.25,
        "sigma_xi": 0.3,
        "rho": 0.4,
    },
    "arithmetic_ou": {
        "type": "arithmetic_ou",
        "x0": 0.3,
        "kappa": 2.5,
        "vol": 1.1,
        "seasonality": {
            "mean": 2.0,
            "trend": -0.3,
            "terms": [{"amplitude": 0.25, "period": 1.0, "phase": 0.1}],
        },
    },
}
UNDERLYINGS = {
    "spot": "spot",
    "forward": {"forward": 0.8},
    "swap": {"swap": {"start": 0.5, "end": 1.0, "count": 7}},
}


def _value(model: dict, instrument: dict, **extra: Any) -> dict[str, Any]:
    return price({"model": model, "instrument": instrument, "rate": 0.04, **extra})


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("underlying", UNDERLYINGS)
def test_put_call_parity(model: str, underlying: str) -> None:
    option = {"type": "european", "strike": 2.1, "expiry": 0.4, "underlying": UNDERLYINGS[underlying]}
    call = _value(MODELS[model], {**option, "kind": "call"})
    put = _value(MODELS[model], {**option, "kind": "put"})
    assert call["method"] == "analytic"
    parity = np.exp(-0.04 * 0.4) * (call["forward"] - 2.1)
    assert call["value"] - put["value"] == pytest.approx(parity, abs=1e-10)


@pytest.mark.parametrize("model", MODELS)
def test_cap_is_mean_of_discounted_caplets(model: str) -> None:
    fixings = [0.1, 0.35, 0.6, 0.9]
    cap = _value(MODELS[model], {"type": "cap", "kind": "call", "strike": 2.0, "fixings": fixings})
    caplets = [
        _value(MODELS[model], {"type": "european", "kind": "call", "strike": 2.0, "expiry": t})["value"]
        for t in fixings
    ]
    assert cap["value"] == pytest.approx(np.mean(caplets), rel=1e-12)


def _integrated_call(c: np.ndarray, b: np.ndarray, strike: float) -> float:
    """E[(sum c_i exp(b_i Z - b_i^2/2) - K)^+] by adaptive quadrature, split at the payoff's kinks
    (located by a grid scan and bisection, independently of the formula under test)."""

    def excess(z: np.ndarray | float) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        return np.sum(c[:, None] * np.exp(np.outer(b, z) - 0.5 * b[:, None] ** 2), axis=0) - strike

    grid = np.linspace(-14.0, 14.0, 4001)
    signs = np.sign(excess(grid))
    kinks = [optimize.brentq(lambda z: float(excess(z)[0]), grid[i], grid[i + 1], xtol=1e-15)
             for i in np.flatnonzero(signs[:-1] != signs[1:])]  # fmt: skip
    edges = [-14.0, *kinks, 14.0]
    return sum(
        integrate.quad(
            lambda z: max(float(excess(z)[0]), 0.0) * norm.pdf(z), lo, hi, epsabs=1e-13, limit=200
        )[0]
        for lo, hi in itertools.pairwise(edges)
    )


def test_one_factor_basket_with_mixed_loadings() -> None:
    """Mixed-sign loadings make {g > K} two half-lines; compare with the split quadrature."""
    c = np.array([0.8, 1.1, 0.5])
    b = np.array([0.9, -0.4, 0.2])
    for strike in (0.5, 2.0, 2.6, 4.0):
        assert basket.basket_option("call", c, b[:, None], strike) == pytest.approx(
            _integrated_call(c, b, strike), abs=1e-10
        )


@settings(max_examples=60, deadline=None)
@given(
    c=st.lists(st.floats(0.01, 3.0), min_size=1, max_size=5),
    b=st.lists(st.floats(-1.5, 1.5), min_size=5, max_size=5),
    strike=st.floats(0.01, 10.0),
)
def test_one_factor_basket_property(c: list[float], b: list[float], strike: float) -> None:
    """Any weights, loadings of any signs and strike: equal to the split quadrature."""
    weights, loadings = np.array(c), np.array(b[: len(c)])
    expected = _integrated_call(weights, loadings, strike)
    assert basket.basket_option("call", weights, loadings[:, None], strike) == pytest.approx(
        expected, abs=1e-10
    )


def test_two_factor_quadrature_has_converged(monkeypatch: pytest.MonkeyPatch) -> None:
    model = SchwartzSmith(0.15, 0.65, 1.2, 0.7, -0.25, 0.3, 0.4, 0.05)
    instrument = European("call", 2.0, 0.4, SwapUnderlying(tuple(np.linspace(0.5, 1.0, 7))))
    from pricing.analytic.closed_form import price_closed_form

    default = price_closed_form(model, instrument, 0.04)
    monkeypatch.setattr(basket, "QUADRATURE_NODES", 256)
    assert price_closed_form(model, instrument, 0.04) == pytest.approx(default, abs=1e-10)


# --- closed forms against Monte Carlo -------------------------------------------------------------
# Each comparison allows 4 standard errors of the Monte Carlo estimate (a false alarm rate of
# about 6e-5 per comparison).

MC = {"paths": 2**16, "seed": 11, "sampler": "pseudo", "antithetic": True, "control_variate": False}


def _against_mc(model: dict, instrument: dict) -> None:
    exact = _value(model, instrument, method="analytic")
    mc = _value(model, instrument, method="mc", mc=MC)
    assert mc["method"] == "mc"
    assert abs(exact["value"] - mc["value"]) < 4.0 * mc["std_error"], (exact["value"], mc["value"])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("underlying", UNDERLYINGS)
def test_european_against_mc(model: str, underlying: str) -> None:
    _against_mc(
        MODELS[model],
        {
            "type": "european",
            "kind": "call",
            "strike": 2.1,
            "expiry": 0.4,
            "underlying": UNDERLYINGS[underlying],
        },
    )


@pytest.mark.parametrize("model", MODELS)
def test_average_and_cap_against_mc(model: str) -> None:
    average = "arithmetic" if model == "arithmetic_ou" else "geometric"
    fixings = {"start": 0.2, "end": 1.0, "count": 9}
    _against_mc(
        MODELS[model],
        {
            "type": "asian",
            "kind": "put",
            "strike": 2.0,
            "fixings": fixings,
            "average": average,
            "payment": 1.1,
        },
    )
    _against_mc(MODELS[model], {"type": "cap", "kind": "call", "strike": 2.0, "fixings": fixings})


JUMP = JumpOU(0.1, 4.0, 0.5, 0.2, 6.0, 0.15, 25.0, SEASON)


@pytest.mark.parametrize(
    "model",
    [
        GBM(2.0, 0.5, -0.1),
        Schwartz1F(2.2, 1.5, 0.6, 0.6),
        SchwartzSmith(0.15, 0.65, 1.2, 0.7, -0.25, 0.3, 0.4, 0.05),
        ArithmeticOU(0.3, 2.5, 1.1, SEASON),
        JUMP,
    ],
    ids=lambda m: type(m).__name__,
)
def test_forward_against_mc(model: Any) -> None:
    """The closed-form window forward (mean of F(0, t_i)) against simulated spot averages, without
    the forward control variate (which would make the comparison circular) or antithetics (which
    make a linear payoff exact under arithmetic_ou)."""
    instrument = Forward(tuple(np.linspace(0.05, 1.5, 12)), 0.0, 1.5)
    mc_settings = MonteCarloSettings(
        paths=2**16, seed=5, antithetic=False, control_variate=False, sampler="pseudo"
    )
    mc = price_mc(model, instrument, 0.0, mc_settings)
    exact = float(np.mean(model.forward(np.asarray(instrument.fixings))))
    assert abs(mc.value - exact) < 4.0 * mc.std_error
