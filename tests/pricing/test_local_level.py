"""The local_level forecaster: the bootstrap replay centred on today's filtered level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing.backtest import run
from pricing.backtest.bootstrap import BootstrapModel, _local_level
from pricing.series import load_series, resample

INTERVALS = [("q25", "q75"), ("q10", "q90"), ("q05", "q95"), ("q2.5", "q97.5")]


def _hours(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2025-01-01", periods=values.size, freq="1h", tz="UTC"))


def test_after_a_level_shift_the_forecast_follows_the_new_level_where_the_bootstrap_averages() -> None:
    noise = np.random.default_rng(2).normal(0.0, 0.01, 24 * 7)
    history = _hours(np.concatenate([np.full(24 * 4, 2.0), np.full(24 * 3, 2.4)]) * np.exp(noise))
    local = BootstrapModel("local_level", local=True).fit(history)
    plain = BootstrapModel().fit(history)
    assert local.forward([0.01])[0] == pytest.approx(2.4, rel=0.02)
    assert plain.forward([0.01])[0] == pytest.approx(history.mean())
    assert local.level_vol > 0.0  # the shift is read as a random walk of the level


def test_the_filter_of_a_flat_level_is_that_level_with_no_uncertainty() -> None:
    assert _local_level(np.full(7, np.log(1.75)), 0.0, 0.0) == pytest.approx((np.log(1.75), 0.0))
    level, variance = _local_level(np.array([0.0, 0.0, 1.0]), walk=1.0, noise=1e-12)
    assert level == pytest.approx(1.0)  # all walk, no noise: today's level is today's mean
    assert variance == pytest.approx(0.0, abs=1e-9)


def test_on_its_own_data_the_local_level_forecaster_covers_at_nominal_rates() -> None:
    """Log prices = a daily random walk of the level (sd 0.03 a day) plus hourly noise (sd 0.02),
    backtested with the market's 7-day training on three independent series (62 daily origins
    each), with the adaptive layer on top (the binomial s.e. of a 90% coverage over 186 outcomes is
    0.022; one series alone moves by 0.1 with its random walk)."""
    covered = []
    for seed in (11, 12, 13):
        rng = np.random.default_rng(seed)
        days = 70
        level = np.repeat(np.cumsum(rng.normal(0.0, 0.03, days)), 24)
        series = _hours(2.0 * np.exp(level + rng.normal(0.0, 0.02, 24 * days)))
        result = run(series, ["local_level"], horizons=["1d"], windows=["1d"], train="7d", step="1d",
                     n_paths=300, workers=1, progress=False, aci=True)  # fmt: skip
        covered.append(result.forecasts)
    rows = pd.concat(covered)
    assert len(rows) >= 180
    for model in ("local_level", "local_level+aci"):
        part = rows[rows["model"] == model]
        for (low, high), nominal in zip(INTERVALS, (0.5, 0.8, 0.9, 0.95), strict=True):
            inside = ((part["realised"] >= part[low]) & (part["realised"] <= part[high])).mean()
            # the plug-in forecaster under-covers by up to 8 points (a week's variogram often
            # underestimates the walk); the adaptive layer restores every level (within 2 s.e.)
            assert inside == pytest.approx(nominal, abs=0.1 if model == "local_level" else 0.06), (
                model,
                nominal,
            )


H100_PCIE = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-price-tracker" / "H100_80GB_PCIe.jsonl"
)


@pytest.mark.skipif(not H100_PCIE.is_file(), reason="gpu-price-tracker data not present")
def test_on_the_h100_pcie_level_shift_the_local_level_beats_the_bootstrap() -> None:
    """The H100 PCIe median steps from about 1.95 to 2.38 on day nine and stays: the bootstrap
    averages the week across the step, local_level follows it (13 daily origins, both horizons)."""
    series = resample(load_series(H100_PCIE, stat="median"), "1h", max_gap="12h")
    result = run(series, ["bootstrap", "local_level"], horizons=["1d", "7d"], windows=["1d"], train="7d",
                 step="1d", n_paths=500, workers=1, progress=False)  # fmt: skip
    crps = {(m["model"], m["horizon"]): m["crps"] for m in result.metrics}
    for horizon in ("1d", "7d"):
        assert crps["local_level", horizon] < 0.95 * crps["bootstrap", horizon], horizon
