"""Profile-likelihood intervals and the flags for parameters the data do not bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from pricing.calibration import calibrate
from pricing.calibration.mle import Parameter
from pricing.calibration.profile import DROP, profile_intervals
from pricing.models import GBM, Schwartz1F
from pricing.synthetic import generate


def test_gbm_volatility_interval_matches_the_closed_form_likelihood_ratio() -> None:
    """With the drift held fixed, the GBM log-likelihood in v = vol^2 is that of n normal residuals:
    -n/2 (ln v + S/(n v)) + const, so the 95% interval solves n (ln(v/v^) + v^/v - 1) = chi2(1, .95)."""
    series = generate(GBM(spot=2.0, vol=0.6, carry=0.0), periods=400, freq="1D", seed=1)
    fit = calibrate(series, "gbm", carry=0.0)
    r = np.diff(np.log(series.to_numpy()))
    dt = 1.0 / 365.0

    def statistic(v: float, v_hat: float) -> float:
        # with carry 0 the residual is r + v dt / 2, so v enters the mean too: use the exact profile
        e = r + 0.5 * v * dt
        ll = -0.5 * np.sum(np.log(v * dt) + e * e / (v * dt))
        e_hat = r + 0.5 * v_hat * dt
        ll_hat = -0.5 * np.sum(np.log(v_hat * dt) + e_hat * e_hat / (v_hat * dt))
        return 2.0 * (ll_hat - ll) - stats.chi2.ppf(0.95, 1)

    v_hat = fit.params["vol"] ** 2
    low = optimize.brentq(statistic, v_hat * 0.5, v_hat, args=(v_hat,))
    high = optimize.brentq(statistic, v_hat, v_hat * 2.0, args=(v_hat,))
    interval = fit.intervals["vol"]
    assert interval[0] == pytest.approx(np.sqrt(low), rel=1e-3)
    assert interval[1] == pytest.approx(np.sqrt(high), rel=1e-3)
    assert fit.flags == {}
    assert fit.converged


def test_identified_parameters_have_intervals_close_to_the_standard_errors() -> None:
    series = generate(Schwartz1F(spot=2.5, kappa=40.0, alpha=0.9, vol=0.8), periods=600, freq="1D", seed=2)
    fit = calibrate(series, "schwartz1f")
    assert fit.converged
    assert set(fit.intervals) == {"kappa", "alpha", "vol"}
    for name in ("alpha", "vol"):  # nearly quadratic likelihoods: the two agree to a few percent
        low, high = fit.intervals[name]
        assert (high - low) / 2 == pytest.approx(1.96 * fit.std_errors[name], rel=0.1), name
        assert low < fit.params[name] < high


def test_schwartz_smith_on_one_factor_data_flags_sigma_xi_instead_of_converging() -> None:
    """Data with no long-run factor: sigma_xi goes to its boundary 0, where the delta method's
    standard error is meaningless; the profile shows the open side and the fit says so."""
    series = generate(Schwartz1F(spot=2.5, kappa=40.0, alpha=0.9, vol=0.8), periods=250, freq="1D", seed=3)
    fit = calibrate(series, "schwartz_smith")
    assert "sigma_xi" in fit.flags
    assert "boundary" in fit.flags["sigma_xi"]
    assert fit.intervals["sigma_xi"][0] == 0.0
    assert np.isnan(fit.std_errors["sigma_xi"])
    assert not fit.converged
    assert any(note.startswith("sigma_xi") for note in fit.notes)
    summary = fit.as_dict()
    assert summary["flags"]["sigma_xi"] == fit.flags["sigma_xi"]
    assert summary["intervals"]["sigma_xi"][0] == 0.0


def test_backtests_skip_the_profile() -> None:
    series = pd.Series(
        np.exp(np.random.default_rng(0).normal(0.0, 0.1, 50)),
        index=pd.date_range("2025-01-01", periods=50, freq="1D", tz="UTC"),
    )
    assert calibrate(series, "gbm", intervals=False).intervals == {}


def test_the_profile_search_reaches_its_whole_reach() -> None:
    """A positive parameter whose profile drops only 20 free units (a factor e^20) from the estimate is
    bounded, as REACH = 30 promises: doubling from a small first step once stopped at 16.4 (the next
    step, 32.8, was past the reach and never tried) and called the side open."""
    def objective(u: np.ndarray) -> float:
        return 10.0 * max(abs(float(u[0])) - 20.0, 0.0)

    (interval,) = profile_intervals(
        [Parameter("vol", "positive")], np.array([0.0]), objective, np.array([5e-4])
    )
    assert interval.bounded
    assert np.log(interval.high) == pytest.approx(20.0 + DROP / 10.0, abs=1e-2)
    assert np.log(interval.low) == pytest.approx(-20.0 - DROP / 10.0, abs=1e-2)
