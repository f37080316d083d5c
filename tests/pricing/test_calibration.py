"""Calibration API: options, results, seasonality regression, forward-curve fit, diagnostics."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pricing import models
from pricing.calibration import calibrate, fit_seasonality, fit_to_forwards
from pricing.calibration.diagnostics import residual_diagnostics
from pricing.models import GBM, ArithmeticOU, JumpOU, Schwartz1F, SchwartzSmith, Seasonality, SeasonalTerm
from pricing.synthetic import generate

# Half-life of 50 minutes and a stationary spread of 0.45 around 2.5: a level-reverting, visibly
# non-log-normal price (so that both GBM and the log model are wrong).
OU = ArithmeticOU(x0=0.0, kappa=5000.0, vol=45.0, seasonality=Seasonality(mean=2.5))


@pytest.fixture(scope="module")
def ou_series() -> pd.Series:
    return generate(OU, periods=24 * 28, seed=3)


def test_result_is_a_priceable_model_valued_at_the_last_observation(ou_series: pd.Series) -> None:
    calibration = calibrate(ou_series, "arithmetic_ou")
    assert calibration.as_of == ou_series.index[-1]
    assert isinstance(calibration.model, models.ArithmeticOU)
    assert calibration.model.forward(0.0) == pytest.approx(ou_series.iloc[-1])
    assert calibration.params["type"] == "arithmetic_ou"
    assert set(calibration.std_errors) == {"kappa", "vol", "seasonality.mean"}
    assert calibration.aic == pytest.approx(2 * 3 - 2 * calibration.loglik)
    assert calibration.bic == pytest.approx(3 * math.log(len(ou_series) - 1) - 2 * calibration.loglik)
    json.dumps(calibration.as_dict())


def test_keyword_holds_a_parameter_fixed(ou_series: pd.Series) -> None:
    calibration = calibrate(ou_series, "gbm", carry=0.0)
    assert calibration.params["carry"] == 0.0
    assert set(calibration.std_errors) == {"vol"}
    assert calibration.n_params == 1
    with pytest.raises(ValueError, match="cannot fix theta: this model's parameters are carry, vol"):
        calibrate(ou_series, "gbm", theta=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "heston"}, "unknown model 'heston'"),
        ({"model": "gbm", "trend": True}, "gbm has no seasonality"),
    ],
)
def test_bad_options_are_refused(ou_series: pd.Series, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calibrate(ou_series, **kwargs)


def test_too_short_series_is_refused(ou_series: pd.Series) -> None:
    with pytest.raises(ValueError, match="at least 10 observations"):
        calibrate(ou_series.iloc[:5], "gbm")


def test_residual_diagnostics_accept_the_right_model_and_flag_the_wrong_one(ou_series: pd.Series) -> None:
    right = calibrate(ou_series, "arithmetic_ou").diagnostics
    wrong = calibrate(ou_series, "gbm").diagnostics
    assert right["ljung_box_pvalue"] > 0.001
    assert abs(right["std"] - 1.0) < 0.1
    assert wrong["ljung_box_pvalue"] < 1e-6  # mean reversion leaves autocorrelated GBM returns


def test_likelihood_ranks_the_true_model_first(ou_series: pd.Series) -> None:
    aic = {m: calibrate(ou_series, m).aic for m in ("gbm", "schwartz1f", "arithmetic_ou")}
    assert min(aic, key=aic.get) == "arithmetic_ou"


def test_seasonality_regression_recovers_a_noiseless_curve() -> None:
    index = pd.date_range("2026-01-01", periods=24 * 21, freq="h", tz="UTC")
    daily = SeasonalTerm(amplitude=0.1, period=1 / 365, phase=0.3 / 365)
    truth = Seasonality(mean=2.0, trend=-0.4, terms=(daily,))
    t = np.asarray((index - index[-1]) / pd.Timedelta(hours=8760), dtype=float)
    fitted, errors = fit_seasonality(pd.Series(truth(t), index=index), trend=True, periods=["1D"])
    np.testing.assert_allclose(fitted(t), truth(t), atol=1e-10)
    assert fitted.terms[0].amplitude == pytest.approx(0.1)
    assert errors["seasonality.trend"] < 1e-8


@pytest.mark.parametrize(
    "model",
    [
        GBM(spot=2.0, vol=0.5),
        Schwartz1F(spot=2.0, kappa=5.0, alpha=0.7, vol=0.5),
        SchwartzSmith(chi0=0.1, xi0=0.7, kappa=5.0, sigma_chi=0.5, mu_xi=-0.2, sigma_xi=0.2, rho=0.3),
        ArithmeticOU(x0=0.1, kappa=5.0, vol=0.5, seasonality=Seasonality(mean=2.0)),
        JumpOU(
            x0=0.0,
            kappa=5.0,
            vol=0.5,
            y0=0.1,
            jump_rate=10.0,
            jump_mean=0.1,
            jump_reversion=8.0,
            seasonality=Seasonality(mean=0.7),
        ),
    ],
    ids=lambda m: type(m).__name__,
)
def test_forward_curve_fit_reprices_quotes_exactly(model: models.Model) -> None:
    quotes = [
        {"fixings": {"start": 0.1, "end": 0.2, "count": 10}, "price": 2.4},
        {"fixings": [0.5, 0.6], "price": 2.1},
    ]
    n_levels = 1 if isinstance(model, GBM | Schwartz1F) else 2
    shifted, errors = fit_to_forwards(model, quotes[:n_levels])
    assert np.max(np.abs(errors)) < 1e-10
    for quote in quotes[:n_levels]:
        fixings = quote["fixings"]
        times = (
            np.linspace(fixings["start"], fixings["end"], fixings["count"])
            if isinstance(fixings, dict)
            else np.array(fixings)
        )
        assert shifted.forward(times).mean() == pytest.approx(quote["price"], rel=1e-10)


def test_forward_curve_fit_with_more_quotes_than_levels_reports_residuals() -> None:
    quotes = [{"fixings": [0.1], "price": 2.4}, {"fixings": [0.5], "price": 2.1}]
    _, errors = fit_to_forwards(GBM(spot=2.0, vol=0.5), quotes)
    assert np.max(np.abs(errors)) > 0.01  # one carry cannot reprice a curve that rises then falls


def test_robust_jump_fit_recovers_parameters() -> None:
    """The threshold method treats its jump set as known, so its standard errors are approximate:
    we only ask every estimate to lie within 4 of them (12 draws). Two years of daily prices: the fit's
    cost grows with observations x detected jumps, and profile intervals would repeat it per trial value."""
    truth = {"kappa": 20.0, "vol": 0.5, "jump_rate": 20.0, "jump_mean": 0.15}
    model = JumpOU(x0=0.0, y0=0.0, jump_reversion=20.0, seasonality=Seasonality(mean=0.8), **truth)
    for seed in range(3):
        calibration = calibrate(
            generate(model, periods=730, freq="1D", seed=seed), "jump_ou", method="robust", intervals=False
        )
        for name, value in truth.items():
            assert abs(calibration.params[name] - value) < 4.0 * calibration.std_errors[name], name


def test_robust_method_is_for_jump_ou_only(ou_series: pd.Series) -> None:
    with pytest.raises(ValueError, match="applies to jump_ou only"):
        calibrate(ou_series, "schwartz1f", method="robust")


def _spot_and_forwards(model: SchwartzSmith, days: int, seed: int) -> tuple[pd.Series, pd.DataFrame]:
    """Daily spot and 1- and 6-month forward quotes (log noise 1%) from one exact state path."""
    rng = np.random.default_rng(seed)
    times = np.arange(days) / 365.0
    chi, xi = model.evolve(times, rng.standard_normal((2, days, 1)), rng)[:, :, 0]
    index = pd.date_range("2026-01-01", periods=days, freq="D", tz="UTC")
    at_zero = dataclasses.replace(model, chi0=0.0, xi0=0.0)
    quotes = []
    for tenor in (30 / 365, 180 / 365):
        log_forward = np.exp(-model.kappa * tenor) * chi + xi + np.log(at_zero.forward(tenor))
        price = np.exp(log_forward + 0.01 * rng.standard_normal(days))
        quotes.append(pd.DataFrame({"timestamp": index, "tenor": tenor, "price": price}))
    return pd.Series(np.exp(chi + xi), index=index), pd.concat(quotes)


def test_schwartz_smith_with_forward_quotes_identifies_rho_and_lambda() -> None:
    truth = {"kappa": 5.0, "sigma_chi": 0.8, "mu_xi": -0.2, "sigma_xi": 0.3, "rho": 0.4, "lambda_chi": 0.5}
    spot, quotes = _spot_and_forwards(SchwartzSmith(chi0=0.0, xi0=0.8, **truth), days=250, seed=4)
    calibration = calibrate(spot, "schwartz_smith", forwards=quotes, intervals=False)
    assert "forward quotes" in calibration.method
    for name, value in truth.items():  # 6 draws; beyond 4 standard errors has probability ~4e-4
        assert abs(calibration.params[name] - value) < 4.0 * calibration.std_errors[name], name
    assert calibration.std_errors["sigma_forward"] < 0.002


def test_forward_quotes_must_sit_on_observations(ou_series: pd.Series) -> None:
    quotes = pd.DataFrame(
        {"timestamp": [pd.Timestamp("1999-01-01", tz="UTC")], "tenor": ["30D"], "price": [2.0]}
    )
    with pytest.raises(ValueError, match="not at an observation"):
        calibrate(ou_series, "schwartz_smith", forwards=quotes)
    with pytest.raises(ValueError, match="schwartz_smith filter only"):
        calibrate(ou_series, "gbm", forwards=quotes)


def test_residual_statistics_match_scipy() -> None:
    z = np.random.default_rng(0).standard_t(5, 500)
    diagnostics = residual_diagnostics(z)
    assert diagnostics["skewness"] == pytest.approx(stats.skew(z), rel=1e-10)
    assert diagnostics["excess_kurtosis"] == pytest.approx(stats.kurtosis(z), rel=1e-10)
    assert diagnostics["jarque_bera_pvalue"] == pytest.approx(stats.jarque_bera(z).pvalue, rel=1e-8)
