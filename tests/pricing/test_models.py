"""Spot models: closed-form forwards and laws against exact simulation.

Every Monte Carlo comparison allows 4 standard errors: with a fixed seed the tests are deterministic,
and a correct model would fail one comparison with probability about 6e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

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

SEASON = Seasonality(mean=1.0, trend=-0.3, terms=(SeasonalTerm(amplitude=0.2, period=1.0, phase=0.1),))

MODELS: dict[str, Model] = {
    "gbm": GBM(spot=100.0, vol=0.4, carry=0.02),
    "schwartz1f": Schwartz1F(spot=100.0, kappa=2.0, alpha=np.log(90.0), vol=0.5),
    "schwartz_smith": SchwartzSmith(
        chi0=0.2,
        xi0=np.log(3.0),
        kappa=3.0,
        sigma_chi=0.6,
        mu_xi=-0.2,
        sigma_xi=0.2,
        rho=-0.3,
        lambda_chi=0.1,
    ),
    "arithmetic_ou": ArithmeticOU(x0=0.5, kappa=4.0, vol=1.0, seasonality=SEASON),
    "jump_ou": JumpOU(
        x0=0.1,
        kappa=5.0,
        vol=0.6,
        y0=0.2,
        jump_rate=8.0,
        jump_mean=0.15,
        jump_reversion=20.0,
        seasonality=SEASON,
    ),
}
# Uneven steps: a tiny one, a large one, then a long one; exact schemes must not care.
GRID = np.array([0.0, 0.01, 0.3, 1.0, 2.5])
PATHS = 200_000
Z = 4.0


def _assert_within(estimate: np.ndarray, exact: np.ndarray, std_error: np.ndarray) -> None:
    estimate, exact, std_error = np.broadcast_arrays(*map(np.atleast_1d, (estimate, exact, std_error)))
    scaled = np.abs(estimate - exact) / np.maximum(std_error, 1e-300)
    degenerate = std_error <= 1e-12 * np.maximum(1.0, np.abs(exact))
    assert np.all(np.isclose(estimate, exact, rtol=1e-12, atol=1e-12)[degenerate]), (estimate, exact)
    assert np.all(scaled[~degenerate] < Z), scaled


@pytest.mark.parametrize("name", MODELS)
def test_forward_matches_simulated_mean(name: str) -> None:
    model = MODELS[name]
    paths = model.simulate(GRID, PATHS, np.random.default_rng(11))
    assert paths.shape == (PATHS, GRID.size)
    _assert_within(paths.mean(axis=0), model.forward(GRID), paths.std(axis=0, ddof=1) / np.sqrt(PATHS))


@pytest.mark.parametrize("name", MODELS)
def test_conditional_forward_is_a_martingale(name: str) -> None:
    """E[F(tau, T)] = F(0, T): the conditional forward from the simulated state at tau is unbiased."""
    model = MODELS[name]
    tau, maturities = 0.4, np.array([0.4, 0.5, 1.0, 3.0])
    grid = np.array([0.1, tau])
    rng = np.random.default_rng(12)
    state = model.evolve(grid, rng.standard_normal((model.n_factors, grid.size, PATHS)), rng)
    forwards = model.conditional_forward(tau, state[:, -1], maturities)
    assert forwards.shape == (maturities.size, PATHS)
    np.testing.assert_allclose(forwards[0], model.spots(grid, state)[-1], rtol=1e-12)
    se = forwards.std(axis=1, ddof=1) / np.sqrt(PATHS)
    _assert_within(forwards.mean(axis=1), model.forward(maturities), se)


def _sample_law(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample mean and covariance of the columns with their standard errors."""
    n = sample.shape[0]
    mean = sample.mean(axis=0)
    cov = np.cov(sample, rowvar=False)
    var = np.diag(cov)
    mean_se = np.sqrt(var / n)
    cov_se = np.sqrt((np.outer(var, var) + cov**2) / n)
    return mean, cov, mean_se, cov_se


@pytest.mark.parametrize("name", ["gbm", "schwartz1f", "schwartz_smith"])
def test_log_law_matches_simulation(name: str) -> None:
    model = MODELS[name]
    grid = GRID[1:]
    log_paths = np.log(model.simulate(grid, PATHS, np.random.default_rng(13)))
    mean, cov, mean_se, cov_se = _sample_law(log_paths)
    exact_mean = model.log_mean(grid)  # type: ignore[union-attr]
    exact_cov = model.log_covariance(grid[:, None], grid[None, :])  # type: ignore[union-attr]
    _assert_within(mean, exact_mean, mean_se)
    _assert_within(cov, exact_cov, cov_se)


def test_arithmetic_ou_law_matches_simulation() -> None:
    model = MODELS["arithmetic_ou"]
    assert isinstance(model, ArithmeticOU)
    grid = GRID[1:]
    mean, cov, mean_se, cov_se = _sample_law(model.simulate(grid, PATHS, np.random.default_rng(14)))
    exact_mean, exact_cov = model.forward(grid), model.covariance(grid[:, None], grid[None, :])
    _assert_within(mean, exact_mean, mean_se)
    _assert_within(cov, exact_cov, cov_se)


def test_schwartz_smith_factor_covariance() -> None:
    """The correlated two-factor transition: Cov(chi(t), xi(t)) = rho s_chi s_xi h(kappa, t)."""
    model = MODELS["schwartz_smith"]
    assert isinstance(model, SchwartzSmith)
    grid = np.array([0.2, 1.5])
    rng = np.random.default_rng(15)
    state = model.evolve(grid, rng.standard_normal((2, grid.size, PATHS)), rng)[:, -1]
    _, cov, _, cov_se = _sample_law(state.T)
    exact = model.rho * model.sigma_chi * model.sigma_xi * decay_integral(model.kappa, 1.5)
    _assert_within(cov[0, 1], exact, cov_se[0, 1])
    _assert_within(cov[1, 1], model.sigma_xi**2 * 1.5, cov_se[1, 1])


@pytest.mark.parametrize("grid", [np.array([1.0]), np.linspace(0.02, 1.0, 50)])
def test_jump_component_moments(grid: np.ndarray) -> None:
    """With no diffusion and no seasonality, ln S = Y: E[Y] = y0 e^(-bt) + lambda m h(b, t) and
    Var Y = lambda E[J^2] h(2b, t) = 2 lambda m^2 h(2b, t), on a one-step and on a fine grid."""
    model = JumpOU(x0=0.0, kappa=1.0, vol=0.0, y0=0.3, jump_rate=6.0, jump_mean=0.25, jump_reversion=3.0)
    y = np.log(model.simulate(grid, PATHS, np.random.default_rng(16))[:, -1])
    b, lam, m = model.jump_reversion, model.jump_rate, model.jump_mean
    exact_mean = model.y0 * np.exp(-b) + lam * m * decay_integral(b, 1.0)
    exact_var = 2.0 * lam * m**2 * decay_integral(2.0 * b, 1.0)
    _assert_within(y.mean(), exact_mean, y.std(ddof=1) / np.sqrt(PATHS))
    fourth = np.mean((y - y.mean()) ** 4)
    _assert_within(y.var(ddof=1), exact_var, np.sqrt((fourth - y.var() ** 2) / PATHS))


def test_jump_forward_matches_campbell_integral() -> None:
    """The closed-form jump factor against numerical quadrature of Campbell's formula."""
    model = JumpOU(x0=0.0, kappa=1.0, vol=0.0, y0=0.0, jump_rate=6.0, jump_mean=0.25, jump_reversion=3.0)
    eta = 1.0 / model.jump_mean
    for t in (0.1, 1.0, 4.0):
        exponent, _ = integrate.quad(
            lambda u: eta / (eta - np.exp(-model.jump_reversion * u)) - 1.0, 0.0, t, epsabs=1e-13
        )
        assert model.forward(t) == pytest.approx(np.exp(model.jump_rate * exponent), rel=1e-10)
    no_reversion = JumpOU(
        x0=0.0, kappa=1.0, vol=0.0, y0=0.0, jump_rate=6.0, jump_mean=0.25, jump_reversion=0.0
    )
    assert no_reversion.forward(2.0) == pytest.approx(np.exp(6.0 * 2.0 / (eta - 1.0)), rel=1e-12)


def test_jump_forward_requires_finite_exponential_moment() -> None:
    model = JumpOU(x0=0.0, kappa=1.0, vol=0.1, y0=0.0, jump_rate=1.0, jump_mean=1.0, jump_reversion=3.0)
    with pytest.raises(ValueError, match="jump_mean"):
        model.forward(1.0)


@pytest.mark.parametrize(
    ("name", "spot0"),
    [
        ("gbm", 100.0),
        ("schwartz1f", 100.0),
        ("schwartz_smith", np.exp(0.2 + np.log(3.0))),
        ("arithmetic_ou", 0.5 + SEASON(0.0)),
        ("jump_ou", np.exp(0.1 + 0.2 + SEASON(0.0))),
    ],
)
def test_forward_at_time_zero_is_the_spot(name: str, spot0: float) -> None:
    assert MODELS[name].forward(0.0) == pytest.approx(spot0, rel=1e-14)


def test_simulation_is_reproducible_per_seed() -> None:
    model = MODELS["jump_ou"]
    first = model.simulate([0.5, 1.0], 1000, np.random.default_rng(3))
    again = model.simulate([0.5, 1.0], 1000, np.random.default_rng(3))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("times", [[], [0.5, 0.5], [1.0, 0.5], [-0.1, 1.0], [0.1, np.nan], [[0.1, 0.2]]])
def test_simulate_rejects_bad_grids(times: list) -> None:
    with pytest.raises(ValueError, match="times"):
        MODELS["gbm"].simulate(times, 10, np.random.default_rng(0))


@pytest.mark.slow
def test_jump_forward_agrees_with_quantlib_ext_ou_with_jumps_process() -> None:
    """The parametrisation matches QuantLib's ExtOUWithJumpsProcess with eta = 1 / jump_mean.

    QuantLib's scheme allows one undecayed jump per step, a discretisation bias of order
    jump_rate * jump_reversion * dt^2 per unit time; with 500 steps it stays below 0.5% of the
    forward, allowed on top of 4 standard errors.
    """
    import QuantLib as ql  # noqa: N813

    model = JumpOU(x0=0.1, kappa=4.0, vol=0.5, y0=0.2, jump_rate=6.0, jump_mean=0.2, jump_reversion=15.0)
    diffusion = ql.ExtendedOrnsteinUhlenbeckProcess(model.kappa, model.vol, model.x0, lambda t: 0.0)
    process = ql.ExtOUWithJumpsProcess(
        diffusion, model.y0, model.jump_reversion, model.jump_rate, 1.0 / model.jump_mean
    )
    steps, paths = 500, 8000
    dt = 1.0 / steps
    normals = np.random.default_rng(17).standard_normal((paths, steps, 3))
    values = np.empty(paths)
    for p in range(paths):
        x = process.initialValues()
        for i in range(steps):
            x = process.evolve(i * dt, x, dt, ql.Array(normals[p, i].tolist()))
        values[p] = np.exp(x[0] + x[1])
    forward = float(model.forward(1.0))
    assert abs(values.mean() - forward) < 4.0 * values.std(ddof=1) / np.sqrt(paths) + 0.005 * forward
