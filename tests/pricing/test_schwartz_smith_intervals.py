"""schwartz_smith's long-run volatility sigma_xi: its profile-likelihood intervals cover the truth.

Truth: kappa = 20, sigma_chi = 0.8, sigma_xi = 0.2, mu_xi = 0, rho = 0; two years of daily prices.
From spot prices alone sigma_xi is weakly identified (a year's xi moves 0.2 against chi's stationary
0.13 that reverts in days): over 20 series most estimates sit on the boundary 0, where the delta
method's intervals (on the log scale) are meaningless — they covered 15% of such series. The 95%
likelihood-ratio interval needs no curvature and stays honest there. If it is right, the number of
20 series whose interval covers 0.2 is Binomial(20, 0.95) or above (a likelihood-ratio interval
with a parameter near its boundary errs on the side of covering).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pricing.calibration import calibrate
from pricing.calibration.sweep import sweep
from pricing.models import Schwartz1F, SchwartzSmith
from pricing.synthetic import generate

TRUTH = SchwartzSmith(chi0=0.0, xi0=0.8, kappa=20.0, sigma_chi=0.8, mu_xi=0.0, sigma_xi=0.2, rho=0.0)
SIGMA_XI = 0.2


def _interval(seed: int) -> tuple[float, tuple[float, float], dict[str, str]]:
    fit = calibrate(generate(TRUTH, periods=730, freq="1D", seed=seed), "schwartz_smith")
    return fit.params["sigma_xi"], fit.intervals["sigma_xi"], fit.flags


def test_an_estimate_on_the_boundary_gets_a_finite_upper_bound_and_an_interior_one_converges() -> None:
    """Seed 3 puts sigma_xi at 1e-6 with a log-scale standard error near 1,000: the profile search
    once stepped past its whole reach at once and reported [0, inf). Seed 2 is an interior estimate:
    its interval excludes 0 and it keeps its standard error."""
    value, (low, high), flags = _interval(3)
    assert value < 1e-3
    assert low == 0.0
    assert 0.05 < high < 1.0
    assert "at its boundary" in flags["sigma_xi"]
    value, (low, high), flags = _interval(2)
    assert 0.0 < low < value < high
    assert low < SIGMA_XI < high
    assert "sigma_xi" not in flags


@pytest.mark.slow
def test_profile_intervals_cover_sigma_xi_at_the_nominal_rate() -> None:
    """20 series: at least the 0.1% quantile of Binomial(20, 0.95) (15) intervals cover 0.2."""
    covered = [low <= SIGMA_XI <= high for _, (low, high), _ in map(_interval, range(20))]
    floor = stats.binom.ppf(0.001, len(covered), 0.95)
    assert sum(covered) >= floor, f"{sum(covered)} of {len(covered)} cover (floor {floor:g})"


def test_without_intervals_a_boundary_estimate_is_still_flagged() -> None:
    """On one-factor data sigma_xi collapses to 0; its log-scale standard error alone (no profile)
    says the delta-method error is meaningless, so the fit is not shown as converged; a sweep says why."""
    series = generate(Schwartz1F(spot=2.5, kappa=40.0, alpha=0.9, vol=0.8), periods=250, freq="1D", seed=3)
    fit = calibrate(series, "schwartz_smith", intervals=False)
    assert "log-scale standard error" in fit.flags["sigma_xi"]
    assert np.isnan(fit.std_errors["sigma_xi"])
    assert not fit.converged
    assert np.isfinite(fit.std_errors["kappa"])  # identified parameters keep theirs
    row = sweep({"one-factor": series}, ["schwartz_smith"]).iloc[0]
    assert row["flagged"] == "sigma_xi"
    assert row["why"].startswith("sigma_xi = ")
