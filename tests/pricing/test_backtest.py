"""Rolling-origin backtests: scores, schedule, protocol, parallel runs, outputs and real data."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pricing.backtest import BacktestResult, run
from pricing.backtest.bootstrap import BootstrapModel
from pricing.backtest.recalibration import Score, conformal_rows, recalibration_at
from pricing.backtest.scores import crps_ensemble, kupiec, pinball
from pricing.models import GBM, Schwartz1F
from pricing.series import load_series, resample
from pricing.synthetic import generate

H100 = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-price-tracker" / "H100_80GB_SXM5.jsonl"

# Log price reverting with a half-life of 17 hours around ln 2.46, stationary log spread 0.1.
TRUE = Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7)


@pytest.fixture(scope="module")
def small() -> pd.Series:
    return generate(TRUE, periods=24 * 24, seed=5)


def _run(series: pd.Series, models: list, **kwargs: object) -> BacktestResult:
    options = {
        "horizons": ["1d"],
        "windows": ["1d"],
        "train": "7d",
        "step": "2d",
        "n_paths": 200,
        "workers": 1,
    }
    return run(series, models, **{**options, **kwargs})


def test_crps_of_a_large_normal_ensemble_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    samples, y = rng.standard_normal(200_000), 0.7
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
    # The ensemble estimate's sampling error is about sd(|X - y|) / sqrt(n) ~ 0.0015; allow 4 of them.
    assert crps_ensemble(samples, y) == pytest.approx(exact, abs=0.006)
    assert crps_ensemble(np.array([2.0]), 3.5) == pytest.approx(1.5)  # a point forecast: absolute error


def test_pinball_and_kupiec() -> None:
    assert pinball(np.array([1.0, 2.0]), [0.1, 0.9], 3.0) == pytest.approx((0.1 * 2 + 0.9 * 1) / 2)
    assert kupiec(10, 100, 0.9) == pytest.approx(1.0)
    assert kupiec(30, 100, 0.9) < 1e-6
    assert kupiec(0, 100, 0.9) < 0.001


def test_model_on_its_own_data_has_nominal_coverage_and_beats_a_wrong_model() -> None:
    """Sixty days of training make parameter error small next to the forecast spread, so the
    plug-in intervals should cover at their nominal rates (Kupiec, 0.1% level); GBM ignores the
    mean reversion and must lose on CRPS."""
    series = generate(TRUE, periods=24 * 330, seed=11)
    result = _run(series, ["schwartz1f", "gbm"], train="60d", n_paths=1000)
    metrics = {m["model"]: m for m in result.metrics}
    assert metrics["schwartz1f"]["n"] > 120
    for level in ("50", "80", "90", "95"):
        assert metrics["schwartz1f"][f"kupiec{level}_pvalue"] > 0.001, level
    pit = result.forecasts.loc[result.forecasts["model"] == "schwartz1f", "pit"].dropna()
    # PIT values of a calibrated forecast are uniform: a deciles chi-square far from rejection.
    counts = np.histogram(pit, bins=np.linspace(0, 1, 11))[0]
    assert stats.chisquare(counts).pvalue > 0.001
    assert metrics["schwartz1f"]["crps"] < metrics["gbm"]["crps"]
    assert list(result.ranking["model"]) == ["schwartz1f", "gbm"]


@dataclasses.dataclass(frozen=True)
class LastPrice:
    """A custom model: the last price with a fixed 30% log-normal volatility (driftless)."""

    name: str = "last-price"

    def fit(self, history: pd.Series, previous: object = None) -> GBM:
        return GBM(spot=float(history.iloc[-1]), vol=0.3)


def test_custom_model_appears_beside_built_in_ones(small: pd.Series, tmp_path: Path) -> None:
    result = _run(small, [LastPrice(), "schwartz1f"])
    assert set(result.ranking["model"]) == {"last-price", "schwartz1f"}
    rows = result.forecasts[result.forecasts["model"] == "last-price"]
    np.testing.assert_allclose(rows["forward"], rows["last"])
    result.save(tmp_path)
    assert "last-price" in (tmp_path / "report.html").read_text()


def test_rows_schedule_and_baselines(small: pd.Series) -> None:
    result = _run(small, ["gbm"], horizons=["0h", "2d"])
    f = result.forecasts
    origins = pd.to_datetime(f["origin"]).unique()
    assert len(f) == len(origins) * 2
    assert origins[0] == small.index[0] + pd.Timedelta("7D")
    assert origins[-1] + pd.Timedelta("2D") + pd.Timedelta("23h") <= small.index[-1]
    first = f[(f["horizon"] == "2d")].iloc[0]
    window = small.loc[first["origin"] + pd.Timedelta("2D") :].iloc[:24]
    assert first["realised"] == pytest.approx(window.mean())
    assert first["last"] == small.loc[first["origin"]]
    assert first["trailing_mean"] == pytest.approx(
        small.loc[first["origin"] - pd.Timedelta("7D") : first["origin"]].mean()
    )
    assert (f["q05"] <= f["q50"]).all()
    assert (f["q50"] <= f["q95"]).all()


def test_fixed_parameters_match_refits_at_the_first_origin_only(small: pd.Series) -> None:
    refit = _run(small, ["schwartz1f"]).forecasts
    fixed = _run(small, ["schwartz1f"], refit_every=0).forecasts
    assert fixed["forward"].iloc[0] == pytest.approx(refit["forward"].iloc[0])
    assert not np.allclose(fixed["forward"].iloc[1:], refit["forward"].iloc[1:])
    every_two = _run(small, ["schwartz1f"], refit_every=2).forecasts
    assert every_two["forward"].iloc[2] == pytest.approx(refit["forward"].iloc[2])


def test_parallel_runs_reproduce_the_serial_run(small: pd.Series) -> None:
    serial = _run(small, ["schwartz1f", "gbm"]).forecasts
    processes = _run(small, ["schwartz1f", "gbm"], workers=2).forecasts
    with ThreadPoolExecutor(2) as executor:
        threads = _run(small, ["schwartz1f", "gbm"], executor=executor).forecasts
    pd.testing.assert_frame_equal(serial, processes)
    pd.testing.assert_frame_equal(serial, threads)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train": "30d"}, "not enough data"),
        ({"windows": ["90min"]}, "multiple of the series step"),
        ({"horizons": ["soon"]}, "horizon: not a duration"),
        ({"models": ["gbm", "gbm"]}, "distinct name"),
        ({"horizons": []}, "at least one horizon"),
        ({"n_paths": 1}, "at least 2"),
    ],
)
def test_bad_settings_are_refused(small: pd.Series, kwargs: dict, message: str) -> None:
    models = kwargs.pop("models", ["gbm"])
    with pytest.raises(ValueError, match=message):
        _run(small, models, **kwargs)


def test_outputs_are_written_and_the_report_is_self_contained(small: pd.Series, tmp_path: Path) -> None:
    result = _run(small, ["schwartz1f", "gbm"], horizons=["1d", "3d"])
    result.save(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "metrics.json",
        "forecasts.csv",
        "report.html",
        "bands.png",
        "coverage.png",
        "pit.png",
        "errors.png",
        "cap_pnl.png",
    }
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert {m["horizon"] for m in summary["metrics"]} == {"1d", "3d"}
    assert summary["ranking"][0]["rank"] == 1
    assert set(summary["timings"]) == {"calibration", "simulation", "scoring", "wall"}
    assert len(pd.read_csv(tmp_path / "forecasts.csv")) == len(result.forecasts)
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5
    assert "http" not in page
    assert "<h2>Coverage</h2>" in page
    assert "calibration (PIT)" in page


def test_progress_bar_only_when_asked(small: pd.Series, capsys: pytest.CaptureFixture[str]) -> None:
    _run(small, ["gbm"], progress=True)
    assert "backtest origins" in capsys.readouterr().err
    _run(small, ["gbm"])
    assert capsys.readouterr().err == ""


@pytest.mark.skipif(not H100.is_file(), reason="gpu-price-tracker data not present")
def test_real_h100_backtest_end_to_end(tmp_path: Path) -> None:
    series = resample(load_series(H100, stat="median"), "1h")
    result = run(
        series,
        ["schwartz1f", "gbm"],
        horizons=["1d"],
        windows=["1d"],
        train="7d",
        step="3d",
        n_paths=300,
        workers=1,
    )
    assert result.config["origins"] >= 5
    assert result.forecasts["error"].eq("").all()
    result.save(tmp_path)
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_conformal_layer_restores_coverage_of_too_narrow_forecasts() -> None:
    """Forecasts half as wide as the truth cover too little; rescaled by their own past errors
    (only those realised before each origin) they cover at the nominal rates."""
    rng = np.random.default_rng(3)
    origins = pd.date_range("2025-01-01", periods=400, freq="1D", tz="UTC")
    rows, ensembles = [], []
    for origin in origins:
        ensembles.append(rng.normal(10.0, 0.5, 1000).astype(np.float32))
        rows.append(
            {
                "origin": origin,
                "model": "narrow",
                "horizon": "1d",
                "window": "1d",
                "realised": float(rng.normal(10.0, 1.0)),
                "forward": 10.0,
            }
        )
    recalibrated = pd.DataFrame(conformal_rows(rows, ensembles))
    assert set(recalibrated["model"]) == {"narrow+conformal"}
    late = recalibrated[recalibrated["recal_n"] >= 100]
    assert len(late) > 250
    assert set(late["recal_pool"]) == {"horizon"}
    for low, high, level in [("q25", "q75", 0.5), ("q05", "q95", 0.9), ("q2.5", "q97.5", 0.95)]:
        inside = ((late["realised"] >= late[low]) & (late["realised"] <= late[high])).mean()
        before = np.mean([abs(r["realised"] - 10.0) < stats.norm.ppf(0.5 + level / 2) * 0.5 for r in rows])
        # binomial standard error of a coverage over ~300 windows is at most 0.03; allow 4 of them
        assert inside == pytest.approx(level, abs=0.12), level
        assert before < level - 0.15
    # the first origins have no realised past forecast: left as the model gave them
    first = recalibrated.iloc[0]
    assert first["recal_n"] == 0
    assert first["recal_pool"] == "none"


def test_recalibration_uses_only_what_was_known_at_the_origin() -> None:
    t0 = pd.Timestamp("2025-01-10", tz="UTC")
    scores = [Score("7d", t0 + pd.Timedelta(days=k), 1.0) for k in range(-10, 10)]
    assert recalibration_at(t0, "7d", scores, min_scores=8).n == 11  # known_at <= t0
    pooled = [Score("1d", t0 - pd.Timedelta(days=k), 0.5) for k in range(8)] + scores[15:]
    recal = recalibration_at(t0, "7d", pooled, min_scores=8)
    assert recal.pool == "pooled"
    assert recal.n == 8


def test_bootstrap_replays_the_history_and_covers_on_stationary_data() -> None:
    history = pd.Series(
        np.arange(1.0, 49.0), index=pd.date_range("2025-01-01", periods=48, freq="1h", tz="UTC")
    )
    replay = BootstrapModel(level=False).fit(history)
    paths = replay.simulate(np.arange(1, 25) / 8760, 500, np.random.default_rng(0))
    # every path is 24 consecutive hours of the history, read circularly
    steps = np.diff(paths, axis=1)
    assert np.all((steps == 1.0) | (steps == -47.0))
    assert replay.forward([0.1])[0] == pytest.approx(24.5)
    iid = pd.Series(
        np.exp(np.random.default_rng(8).normal(1.0, 0.1, 24 * 120)),
        index=pd.date_range("2025-01-01", periods=24 * 120, freq="1h", tz="UTC"),
    )
    result = _run(iid, ["bootstrap"], train="14d", n_paths=500)
    metrics = result.metrics[0]
    assert metrics["n"] >= 50
    for level in ("50", "80", "90", "95"):
        assert metrics[f"kupiec{level}_pvalue"] > 0.001, level


def test_conformal_rows_appear_in_a_run(small: pd.Series) -> None:
    result = _run(small, ["schwartz1f"], step="6h", conformal=True, source={"data": "x.csv"})
    assert result.config["models"] == ["schwartz1f", "schwartz1f+conformal"]
    assert result.config["data"] == "x.csv"
    assert result.config["conformal"] is True
    assert {m["model"] for m in result.metrics} == {"schwartz1f", "schwartz1f+conformal"}
    assert "recalibration" in result.timings


@dataclasses.dataclass(frozen=True)
class FirstPrice:
    """A custom model that forecasts the first price of the history it was given."""

    name: str = "first-price"

    def fit(self, history: pd.Series, previous: object = None) -> GBM:
        return GBM(spot=float(history.iloc[0]), vol=0.3)


def test_expanding_histories_start_at_the_series_start(small: pd.Series) -> None:
    rolling = _run(small, [FirstPrice()], step="1d")
    expanding = _run(small, [FirstPrice()], step="1d", expanding=True)
    assert expanding.config["expanding"] is True
    assert len(expanding.forecasts) == len(rolling.forecasts)  # the same origins
    assert np.allclose(expanding.forecasts["forward"], small.iloc[0])
    assert rolling.forecasts["forward"].nunique() > 1
