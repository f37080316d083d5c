"""Interval recalibration (M+cqr): split-conformal widening of each central interval from past misses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.backtest import run
from pricing.backtest.recalibration import LEVELS, interval_rows, interval_scores, widening_at
from pricing.models import Schwartz1F
from pricing.synthetic import generate

INTERVALS = [("q25", "q75"), ("q10", "q90"), ("q05", "q95"), ("q2.5", "q97.5")]


def _forecasts(
    spread: float, truth: float, n: int = 400, seed: int = 3
) -> tuple[list[dict], list[np.ndarray]]:
    """Daily forecasts N(10, spread) of outcomes N(10, truth): too narrow when spread < truth."""
    rng = np.random.default_rng(seed)
    rows, ensembles = [], []
    for origin in pd.date_range("2025-01-01", periods=n, freq="1D", tz="UTC"):
        ensembles.append(rng.normal(10.0, spread, 1000).astype(np.float32))
        realised = float(rng.normal(10.0, truth))
        rows.append({"origin": origin, "model": "m", "horizon": "1d", "window": "1d", "realised": realised,
                     "forward": 10.0})  # fmt: skip
    return rows, ensembles


@pytest.mark.parametrize(("spread", "truth"), [(0.5, 1.0), (2.0, 1.0)])
def test_too_narrow_and_too_wide_intervals_are_brought_to_their_levels(spread: float, truth: float) -> None:
    rows, ensembles = _forecasts(spread, truth)
    out = pd.DataFrame(interval_rows(rows, ensembles))
    assert set(out["model"]) == {"m+cqr"}
    late = out[out["recal_n"] >= 100]
    assert len(late) > 250
    for (low, high), level in zip(INTERVALS, LEVELS, strict=True):
        inside = ((late["realised"] >= late[low]) & (late["realised"] <= late[high])).mean()
        # binomial standard error over ~300 windows is at most 0.03; allow about 3 of them
        assert inside == pytest.approx(level, abs=0.09), level
    assert out.iloc[0]["recal_n"] == 0  # nothing realised before the first origin: the model as it was
    assert out.iloc[0]["q05"] == pytest.approx(np.quantile(ensembles[0], 0.05), rel=1e-6)


def test_scores_say_how_far_outside_each_interval_and_only_the_past_counts() -> None:
    ensemble = np.linspace(0.0, 1.0, 1001)
    scores = interval_scores(ensemble, 2.0)
    spread = float(np.std(ensemble))
    assert scores[0] == pytest.approx((2.0 - 0.75) / spread)
    assert interval_scores(ensemble, 0.5)[0] == pytest.approx(-0.25 / spread)
    origin = pd.Timestamp("2025-01-10", tz="UTC")
    past = [("1d", origin - pd.Timedelta(days=k), np.full(len(LEVELS), float(k))) for k in range(10)]
    future = [("1d", origin + pd.Timedelta(days=k), np.full(len(LEVELS), 99.0)) for k in range(1, 10)]
    widen = widening_at(origin, "1d", past + future)
    assert widen.n == 10
    assert widen.pool == "horizon"
    assert widen.q.max() <= 9.0  # the future's 99s never enter


@pytest.mark.parametrize("layer", ["cqr", "aci"])
def test_a_run_adds_the_layer_rows_beside_the_model(layer: str) -> None:
    series = generate(Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7), periods=24 * 11, seed=5)
    result = run(series, ["schwartz1f"], horizons=["1d"], windows=["1d"], train="7d", step="6h",
                 n_paths=100, workers=1, progress=False, **{layer: True})  # fmt: skip
    assert result.config["models"] == ["schwartz1f", f"schwartz1f+{layer}"]
    assert result.config[layer] is True
    assert {m["model"] for m in result.metrics} == {"schwartz1f", f"schwartz1f+{layer}"}
    rows = result.forecasts.groupby("model").nth(0).set_index("model")
    # nothing is realised before the first origin: each layer starts as the model itself
    assert rows.loc[f"schwartz1f+{layer}", "q05"] == pytest.approx(rows.loc["schwartz1f", "q05"], rel=1e-6)


@pytest.mark.slow
def test_on_its_own_data_a_week_trained_model_with_cqr_covers_at_nominal_rates() -> None:
    """Simulated schwartz1f prices, backtested with the market's settings (7 days of training): the
    plug-in intervals carry parameter error, the interval layer (past misses only) brings every
    level to nominal within about three binomial standard errors over 170 daily origins."""
    truth = Schwartz1F(spot=2.5, kappa=120.0, alpha=0.9, vol=1.5)
    series = generate(truth, periods=24 * 190, seed=17)
    result = run(series, ["schwartz1f"], horizons=["1d"], windows=["1d"], train="7d", step="1d",
                 n_paths=1000, workers=1, progress=False, cqr=True)  # fmt: skip
    metrics = {m["model"]: m for m in result.metrics}
    assert metrics["schwartz1f+cqr"]["n"] > 170
    for level, nominal in zip(("50", "80", "90", "95"), LEVELS, strict=True):
        assert metrics["schwartz1f+cqr"][f"coverage{level}"] == pytest.approx(nominal, abs=0.1), level
