"""Monte Carlo engine against closed forms computed independently (QuantLib's Black and Bachelier
formulas on laws derived here), and its variance reduction against plain Monte Carlo.

Tolerance: 4 standard errors (combined in quadrature when two estimates are compared). Seeds are
fixed, so every test is deterministic; a correct engine fails a given comparison with probability
about 6e-5 (a little more for Sobol errors, estimated from 16 scramblings).
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813

from pricing.instruments import (
    Asian,
    Bermudan,
    Cap,
    European,
    Forward,
    ForwardUnderlying,
    OptionKind,
    SpotUnderlying,
    SwapUnderlying,
)
from pricing.models import (
    GBM,
    ArithmeticOU,
    JumpOU,
    Model,
    Schwartz1F,
    SchwartzSmith,
    Seasonality,
    SeasonalTerm,
)
from pricing.models.gaussian import decay_integral
from pricing.montecarlo import MCResult, price_mc, samplers
from pricing.settings import MonteCarloSettings

Z = 4.0
RATE = 0.05
SEASON = Seasonality(mean=2.0, trend=-0.4, terms=(SeasonalTerm(amplitude=0.3, period=1.0, phase=0.2),))
GBM_MODEL = GBM(spot=100.0, vol=0.4, carry=0.0)
MODELS: dict[str, Model] = {
    "gbm": GBM(spot=100.0, vol=0.4, carry=0.03),
    "schwartz1f": Schwartz1F(spot=2.5, kappa=1.5, alpha=np.log(2.0), vol=0.5),
    "schwartz_smith": SchwartzSmith(
        chi0=0.1,
        xi0=np.log(2.0),
        kappa=2.0,
        sigma_chi=0.5,
        mu_xi=-0.15,
        sigma_xi=0.2,
        rho=0.3,
        lambda_chi=0.05,
    ),
    "arithmetic_ou": ArithmeticOU(x0=0.3, kappa=3.0, vol=0.8, seasonality=SEASON),
    "jump_ou": JumpOU(
        x0=0.1,
        kappa=4.0,
        vol=0.5,
        y0=0.0,
        jump_rate=6.0,
        jump_mean=0.2,
        jump_reversion=15.0,
        seasonality=SEASON,
    ),
}
PLAIN = MonteCarloSettings(paths=200_000, seed=1, antithetic=False, control_variate=False, sampler="pseudo")
DEFAULT = MonteCarloSettings(paths=65_536, seed=2)
FIXINGS = tuple(np.linspace(1.0 / 12.0, 1.0, 12))


def _close(result: MCResult, exact: float) -> None:
    assert abs(result.value - exact) < Z * result.std_error + 1e-12 * max(1.0, abs(exact)), (result, exact)


def _agree(a: MCResult, b: MCResult) -> None:
    assert abs(a.value - b.value) < Z * np.hypot(a.std_error, b.std_error), (a, b)


def _ql_type(kind: OptionKind) -> int:
    return ql.Option.Call if kind == "call" else ql.Option.Put


def black(kind: OptionKind, forward: float, strike: float, variance: float, discount: float) -> float:
    return ql.blackFormula(_ql_type(kind), strike, forward, np.sqrt(variance), discount)


def bachelier(kind: OptionKind, mean: float, strike: float, variance: float, discount: float) -> float:
    return ql.bachelierBlackFormula(_ql_type(kind), strike, mean, np.sqrt(variance), discount)


@pytest.mark.parametrize("name", MODELS)
def test_forward_window(name: str) -> None:
    model = MODELS[name]
    instrument = Forward(fixings=FIXINGS, strike=1.5, payment=1.0)
    exact = np.exp(-RATE) * (np.mean(model.forward(np.asarray(FIXINGS))) - 1.5)
    _close(price_mc(model, instrument, RATE, PLAIN), exact)
    controlled = price_mc(model, instrument, RATE, DEFAULT)
    assert controlled.value == pytest.approx(exact, rel=1e-10)  # the forward control is the payoff itself


@pytest.mark.parametrize("kind", ["call", "put"])
@pytest.mark.parametrize(
    "settings", [PLAIN, DEFAULT, replace(DEFAULT, sampler="pseudo")], ids=["plain", "sobol", "pseudo"]
)
def test_gbm_european_matches_black_scholes(kind: OptionKind, settings: MonteCarloSettings) -> None:
    model = MODELS["gbm"]
    assert isinstance(model, GBM)
    result = price_mc(model, European(kind, 110.0, 0.75, SpotUnderlying()), RATE, settings)
    exact = black(kind, float(model.forward(0.75)), 110.0, model.vol**2 * 0.75, np.exp(-RATE * 0.75))
    _close(result, exact)


def test_schwartz1f_option_on_forward_is_black() -> None:
    """ln F(tau, T) is Gaussian with variance e^(-2 kappa (T - tau)) vol^2 h(2 kappa, tau)."""
    model = MODELS["schwartz1f"]
    assert isinstance(model, Schwartz1F)
    tau, maturity, strike = 0.5, 0.9, 2.2
    variance = (
        np.exp(-2.0 * model.kappa * (maturity - tau)) * model.vol**2 * decay_integral(2.0 * model.kappa, tau)
    )
    exact = black("call", float(model.forward(maturity)), strike, variance, np.exp(-RATE * tau))
    instrument = European("call", strike, tau, ForwardUnderlying(maturity))
    _close(price_mc(model, instrument, RATE, PLAIN), exact)
    _close(price_mc(model, instrument, RATE, DEFAULT), exact)


def test_schwartz_smith_option_on_forward_is_black() -> None:
    """ln F(tau, T) = const + e^(-kappa d) chi(tau) + xi(tau), d = T - tau: Gaussian."""
    model = MODELS["schwartz_smith"]
    assert isinstance(model, SchwartzSmith)
    tau, maturity, strike = 0.4, 1.2, 2.0
    b = np.exp(-model.kappa * (maturity - tau))
    variance = (
        b**2 * model.sigma_chi**2 * decay_integral(2.0 * model.kappa, tau)
        + model.sigma_xi**2 * tau
        + 2.0 * b * model.rho * model.sigma_chi * model.sigma_xi * decay_integral(model.kappa, tau)
    )
    exact = black("put", float(model.forward(maturity)), strike, variance, np.exp(-RATE * tau))
    instrument = European("put", strike, tau, ForwardUnderlying(maturity))
    _close(price_mc(model, instrument, RATE, PLAIN), exact)
    _close(price_mc(model, instrument, RATE, DEFAULT), exact)


def test_arithmetic_ou_option_on_swap_is_bachelier() -> None:
    """The swap mean_i F(tau, t_i) = mean_i f(t_i) + X(tau) mean_i e^(-kappa (t_i - tau)) is Gaussian."""
    model = MODELS["arithmetic_ou"]
    assert isinstance(model, ArithmeticOU)
    tau, window = 0.3, np.linspace(0.5, 0.75, 10)
    loading = np.mean(np.exp(-model.kappa * (window - tau)))
    variance = loading**2 * model.vol**2 * decay_integral(2.0 * model.kappa, tau)
    mean = float(np.mean(model.forward(window)))
    for kind in ("call", "put"):
        exact = bachelier(kind, mean, 2.0, variance, np.exp(-RATE * tau))
        instrument = European(kind, 2.0, tau, SwapUnderlying(tuple(window)))
        _close(price_mc(model, instrument, RATE, PLAIN), exact)
        _close(price_mc(model, instrument, RATE, DEFAULT), exact)


def test_gbm_geometric_asian_is_black_on_the_geometric_average() -> None:
    model = GBM_MODEL
    times = np.asarray(FIXINGS)
    log_mean = np.log(model.spot) + np.mean((model.carry - 0.5 * model.vol**2) * times)
    variance = model.vol**2 * np.minimum.outer(times, times).sum() / times.size**2
    exact = black("call", np.exp(log_mean + 0.5 * variance), 100.0, variance, np.exp(-RATE))
    instrument = Asian("call", 100.0, FIXINGS, "geometric", 1.0)
    _close(price_mc(model, instrument, RATE, PLAIN), exact)
    assert price_mc(model, instrument, RATE, DEFAULT).value == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("kind", ["call", "put"])
def test_arithmetic_ou_asian_is_bachelier(kind: OptionKind) -> None:
    model = MODELS["arithmetic_ou"]
    assert isinstance(model, ArithmeticOU)
    times = np.asarray(FIXINGS)
    variance = model.covariance(times[:, None], times[None, :]).sum() / times.size**2
    exact = bachelier(kind, float(np.mean(model.forward(times))), 1.8, variance, np.exp(-RATE))
    instrument = Asian(kind, 1.8, FIXINGS, "arithmetic", 1.0)
    _close(price_mc(model, instrument, RATE, PLAIN), exact)
    _close(price_mc(model, instrument, RATE, DEFAULT), exact)


@pytest.mark.parametrize("name", MODELS)
def test_arithmetic_asian_variance_reduction_agrees_with_plain(name: str) -> None:
    model = MODELS[name]
    strike = float(np.mean(model.forward(np.asarray(FIXINGS))))
    instrument = Asian("call", strike, FIXINGS, "arithmetic", 1.0)
    plain = price_mc(model, instrument, RATE, PLAIN)
    for settings in (DEFAULT, replace(DEFAULT, sampler="pseudo"), replace(DEFAULT, control_variate=False)):
        reduced = price_mc(model, instrument, RATE, settings)
        _agree(plain, reduced)
        assert reduced.std_error**2 * reduced.paths < plain.std_error**2 * plain.paths  # per path


def test_gbm_arithmetic_asian_variance_reduction_is_large() -> None:
    """The geometric control plus Sobol cut the variance per path by orders of magnitude."""
    instrument = Asian("call", 100.0, FIXINGS, "arithmetic", 1.0)
    plain = price_mc(GBM_MODEL, instrument, RATE, replace(PLAIN, paths=DEFAULT.paths))
    reduced = price_mc(GBM_MODEL, instrument, RATE, DEFAULT)
    assert (plain.std_error / reduced.std_error) ** 2 > 300.0


@pytest.mark.parametrize("name", ["gbm", "arithmetic_ou"])
def test_cap_is_the_mean_of_caplets(name: str) -> None:
    model = MODELS[name]
    times = np.asarray(FIXINGS)
    strike = float(model.forward(0.5))
    if isinstance(model, GBM):
        caplets = [
            black("call", float(model.forward(t)), strike, model.vol**2 * t, np.exp(-RATE * t)) for t in times
        ]
    else:
        assert isinstance(model, ArithmeticOU)
        caplets = [
            bachelier(
                "call", float(model.forward(t)), strike, float(model.covariance(t, t)), np.exp(-RATE * t)
            )
            for t in times
        ]
    instrument = Cap("call", strike, FIXINGS)
    _close(price_mc(model, instrument, RATE, PLAIN), float(np.mean(caplets)))
    _close(price_mc(model, instrument, RATE, DEFAULT), float(np.mean(caplets)))


def test_put_call_parity_on_jump_model() -> None:
    """call - put = e^(-r tau) (F(0, tau) - K), with common random numbers on both legs."""
    model = MODELS["jump_ou"]
    tau, strike = 0.5, float(MODELS["jump_ou"].forward(0.5))
    call = price_mc(model, European("call", strike, tau, SpotUnderlying()), RATE, PLAIN)
    put = price_mc(model, European("put", strike, tau, SpotUnderlying()), RATE, PLAIN)
    _close(
        replace(call, value=call.value - put.value),
        float(np.exp(-RATE * tau) * (model.forward(tau) - strike)),
    )
    _agree(call, price_mc(model, European("call", strike, tau, SpotUnderlying()), RATE, DEFAULT))


def test_refined_grid_gives_the_same_law() -> None:
    model = MODELS["jump_ou"]
    instrument = Asian("call", float(model.forward(0.5)), (0.25, 0.5, 1.0), "arithmetic", 1.0)
    coarse = price_mc(model, instrument, RATE, DEFAULT)
    fine = price_mc(model, instrument, RATE, replace(DEFAULT, steps_per_year=52))
    _agree(coarse, fine)


def test_sobol_standard_error_matches_the_spread_over_seeds() -> None:
    """The replicate-based error estimate agrees with the real scatter of independent runs."""
    instrument = European("call", 100.0, 1.0, SpotUnderlying())
    settings = MonteCarloSettings(paths=4096, antithetic=False, control_variate=False)
    results = [price_mc(GBM_MODEL, instrument, RATE, replace(settings, seed=seed)) for seed in range(24)]
    spread = np.std([r.value for r in results], ddof=1)
    reported = np.sqrt(np.mean([r.std_error**2 for r in results]))
    assert 0.5 < spread / reported < 2.0


def test_same_seed_reproduces_and_bumps_share_random_numbers() -> None:
    instrument = Asian("call", 100.0, FIXINGS, "arithmetic", 1.0)
    settings = replace(DEFAULT, sampler="pseudo", control_variate=False)
    base = price_mc(GBM_MODEL, instrument, RATE, settings)
    assert price_mc(GBM_MODEL, instrument, RATE, settings) == base
    bump = 1e-4
    up = price_mc(replace(GBM_MODEL, vol=GBM_MODEL.vol + bump), instrument, RATE, settings)
    down = price_mc(replace(GBM_MODEL, vol=GBM_MODEL.vol - bump), instrument, RATE, settings)
    vega = (up.value - down.value) / (2 * bump)
    # With common random numbers the central difference is smooth: the same vega from a 100x
    # larger bump, to within a fraction of a percent rather than the ~1e2 noise of independent runs.
    wide = 1e-2
    up_wide = price_mc(replace(GBM_MODEL, vol=GBM_MODEL.vol + wide), instrument, RATE, settings)
    down_wide = price_mc(replace(GBM_MODEL, vol=GBM_MODEL.vol - wide), instrument, RATE, settings)
    assert vega == pytest.approx((up_wide.value - down_wide.value) / (2 * wide), rel=5e-3)


def test_sobol_chunking_does_not_change_the_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    instrument = Asian("call", 100.0, FIXINGS, "arithmetic", 1.0)
    whole = price_mc(GBM_MODEL, instrument, RATE, DEFAULT)
    monkeypatch.setattr(samplers, "CHUNK_PATH_STEPS", 1 << 12)
    chunked = price_mc(GBM_MODEL, instrument, RATE, DEFAULT)
    assert chunked.value == pytest.approx(whole.value, rel=1e-12)
    assert chunked.paths == whole.paths


def test_memory_is_bounded_by_the_chunk_not_the_paths() -> None:
    """2 million paths x 24 fixings would need 384 MB per array at once; chunks keep the peak low."""
    instrument = Asian("call", 100.0, tuple(np.linspace(1 / 24, 1.0, 24)), "arithmetic", 1.0)
    settings = MonteCarloSettings(paths=2_000_000, sampler="pseudo", antithetic=True, control_variate=True)
    tracemalloc.start()
    try:
        result = price_mc(GBM_MODEL, instrument, RATE, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.paths == 2_000_000
    assert peak < 300 * 2**20, peak


@pytest.mark.slow
def test_ten_million_paths_stay_under_one_gigabyte() -> None:
    instrument = Asian("call", 100.0, FIXINGS, "arithmetic", 1.0)
    settings = MonteCarloSettings(paths=10_000_000, sampler="pseudo")
    tracemalloc.start()
    try:
        result = price_mc(GBM_MODEL, instrument, RATE, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.paths == 10_000_000
    assert peak < 2**30, peak


def test_geometric_average_of_arithmetic_ou_is_rejected() -> None:
    with pytest.raises(ValueError, match="geometric"):
        price_mc(MODELS["arithmetic_ou"], Asian("call", 1.0, FIXINGS, "geometric", 1.0), RATE, DEFAULT)


def test_early_exercise_is_not_priced_here() -> None:
    with pytest.raises(TypeError, match="Bermudan"):
        price_mc(GBM_MODEL, Bermudan("put", 100.0, FIXINGS), RATE, DEFAULT)  # type: ignore[arg-type]


def test_sobol_refuses_more_dimensions_than_it_has() -> None:
    instrument = Asian(
        "call", 1.0, tuple(np.linspace(0.001, 1.0, samplers.SOBOL_MAX_DIMENSION + 1)), "arithmetic", 1.0
    )
    with pytest.raises(ValueError, match="pseudo"):
        price_mc(MODELS["jump_ou"], instrument, RATE, replace(DEFAULT, paths=64))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize(
    "underlying", [ForwardUnderlying(0.8), SwapUnderlying((0.6, 0.7, 0.8, 0.9))], ids=["forward", "swap"]
)
def test_options_on_forwards_and_swaps_for_every_model(
    name: str, underlying: ForwardUnderlying | SwapUnderlying
) -> None:
    """Put-call parity on the conditional forwards (exact: with the same paths and the underlying
    as control, call - put = e^(-r tau) (E[U] - K), and K = E[U] here), and the variance-reduced
    estimates agree with plain Monte Carlo within 4 combined standard errors."""
    model = MODELS[name]
    tau = 0.5
    maturities = (
        np.array([0.8]) if isinstance(underlying, ForwardUnderlying) else np.asarray(underlying.fixings)
    )
    level = float(np.mean(model.forward(maturities)))
    call = European("call", level, tau, underlying)
    put = European("put", level, tau, underlying)
    plain_call = price_mc(model, call, RATE, PLAIN)
    plain_put = price_mc(model, put, RATE, PLAIN)
    parity = MonteCarloSettings(paths=PLAIN.paths, seed=PLAIN.seed, antithetic=False, sampler="pseudo")
    difference = price_mc(model, call, RATE, parity).value - price_mc(model, put, RATE, parity).value
    assert difference == pytest.approx(0.0, abs=1e-9 * level)
    _agree(plain_call, price_mc(model, call, RATE, DEFAULT))
    _agree(plain_put, price_mc(model, put, RATE, DEFAULT))
