"""jump_ou's default calibration (the robust fit) estimates the jump reversion beta apart from kappa.

The truth of issue 13: kappa = 10 and beta = 100 per year (a spike halves in 2.5 days, the diffusion
in 25), two years of daily prices. The tied fit (the jump-mixture likelihood, beta = kappa) lands
between the two speeds; the free fit recovers both within a few standard errors, and a near-ATM call
priced with the fitted speeds is close to the true model's where the tied speed's is not. The call
comparison keeps the true jump_rate and jump_mean: those two are estimated the same way by both fits
and their sampling error (two years hold about 40 jumps) would otherwise swamp the speeds' effect.
"""

from __future__ import annotations

import numpy as np
import pytest

from pricing import calibrate, price
from pricing.models import JumpOU, Seasonality
from pricing.synthetic import generate

TRUTH = {"kappa": 10.0, "vol": 0.5, "jump_rate": 20.0, "jump_mean": 0.15}
MONTH = 30.0 / 365.0


def _model(beta: float) -> JumpOU:
    return JumpOU(x0=0.0, y0=0.0, jump_reversion=beta, seasonality=Seasonality(mean=0.8), **TRUTH)


def _call(model: JumpOU, kappa: float, beta: float, vol: float) -> float:
    """A one-month call struck at the true forward, from the seasonal level, with the given speeds."""
    strike = float(model.forward(np.array([MONTH]))[0])
    params = {
        "type": "jump_ou",
        **TRUTH,
        "x0": 0.0,
        "y0": 0.0,
        "seasonality": {"mean": 0.8},
        "kappa": kappa,
        "jump_reversion": beta,
        "vol": vol,
    }
    request = {
        "model": params,
        "instrument": {"type": "european", "kind": "call", "strike": strike, "expiry": MONTH},
        "mc": {"paths": 20000, "seed": 1},
    }
    return float(price(request)["value"])


def _errors(beta: float, seed: int) -> tuple[dict[str, float], dict[str, float], float, float]:
    """The free fit's values and standard errors, and the call errors of the free and tied fits."""
    model = _model(beta)
    series = generate(model, periods=730, freq="1D", seed=seed)
    free = calibrate(series, "jump_ou", intervals=False)
    tied = calibrate(series, "jump_ou", method="mle", intervals=False).params
    assert free.method == "robust threshold fit"
    assert tied["jump_reversion"] == tied["kappa"]
    true_call = _call(model, TRUTH["kappa"], beta, TRUTH["vol"])
    p = free.params
    free_error = _call(model, p["kappa"], p["jump_reversion"], p["vol"]) / true_call - 1.0
    tied_error = _call(model, tied["kappa"], tied["kappa"], tied["vol"]) / true_call - 1.0
    return p, free.std_errors, free_error, tied_error


@pytest.mark.parametrize("beta", [100.0, 10.0])
def test_robust_fit_recovers_a_free_jump_reversion(beta: float) -> None:
    """Estimates within 4 standard errors; the call error within 0.3, about twice its spread over
    seeds (kappa's standard error of 3-4 alone moves the call by 15-20%); at beta = 100 the tied
    fit's error is over twice the free fit's (its kappa sits near 30)."""
    values, errors, free_error, tied_error = _errors(beta, seed=0)
    for name, value in (("kappa", TRUTH["kappa"]), ("jump_reversion", beta)):
        assert np.isfinite(errors[name]), name
        assert abs(values[name] - value) < 4.0 * errors[name], name
    assert abs(free_error) < 0.3
    if beta != TRUTH["kappa"]:
        assert abs(tied_error) > 2.0 * abs(free_error)


@pytest.mark.slow
def test_free_reversion_over_seeds() -> None:
    """Twelve series at beta = 100: the mean estimate within 3 standard errors of the mean, the
    +-2 s.e. intervals cover at least 9 of 12, and the free fit's mean absolute call error is under
    half the tied fit's (measured on seeds 0-11: beta 99.3 +- 2.75, 11 of 12 within 2 s.e.; call
    errors 10.6% free against 73% tied; docs/backtesting.md)."""
    runs = [_errors(100.0, seed) for seed in range(12)]
    betas = np.array([values["jump_reversion"] for values, _, _, _ in runs])
    errors = np.array([errors["jump_reversion"] for _, errors, _, _ in runs])
    assert abs(betas.mean() - 100.0) < 3.0 * betas.std(ddof=1) / np.sqrt(len(betas))
    assert np.sum(np.abs(betas - 100.0) < 2.0 * errors) >= 9
    free = np.mean([abs(run[2]) for run in runs])
    tied = np.mean([abs(run[3]) for run in runs])
    assert free < 0.5 * tied


def test_jump_intervals_cover_at_their_nominal_rate_and_caps_are_flagged() -> None:
    """The robust fit's jump_mean and jump_rate intervals, given the jump set, against simulation:
    2,000 draws of 15 exponential excesses (mean 0.15) and of a Poisson count (mean 15 over one year,
    nothing lost below the threshold). The mean's chi-square interval is exact: coverage 0.95 within
    3 binomial standard errors (0.0049 each); Garwood's count interval is conservative: at least
    0.95 - 3 s.e. Then the caps: a mean excess above 0.5 and a count beyond one jump in ten steps
    are flagged with the values the data asked for."""
    from pricing.calibration.jump_ou import MAX_JUMP_MEAN, _jump_part

    rng = np.random.default_rng(7)
    draws, n, mean, top = 2000, 15, 0.15, 1e9
    tolerance = 3.0 * np.sqrt(0.95 * 0.05 / draws)
    no_decay = np.full(n, 1e-12)  # jumps seen at their full size
    means = rng.exponential(mean, (draws, n))
    covered = 0
    for excess in means:
        low, high = _jump_part(excess, np.zeros(n), no_decay, 1.0, top, 0.1).intervals["jump_mean"]
        covered += low <= mean <= high
    assert abs(covered / draws - 0.95) < tolerance
    counts = rng.poisson(15.0, draws)
    covered = 0
    for count in counts[counts > 0]:
        excess = np.full(count, 0.1)
        low, high = _jump_part(excess, np.zeros(count), np.full(count, 1e-12), 1.0, top, 0.1).intervals[
            "jump_rate"
        ]
        covered += low <= 15.0 <= high
    assert covered / draws > 0.95 - tolerance
    capped = _jump_part(np.full(5, 0.8), np.zeros(5), np.full(5, 1e-12), 1.0, 3.0, 0.1)
    assert capped.values == {"jump_rate": 3.0, "jump_mean": MAX_JUMP_MEAN}
    assert "asks for 0.8" in capped.flags["jump_mean"]
    assert "ask for 5 a year" in capped.flags["jump_rate"]
