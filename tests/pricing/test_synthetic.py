"""Synthetic series: calendar, reproducibility and the law of the simulated prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.models import JumpOU, Seasonality
from pricing.synthetic import generate

MODEL = JumpOU(
    x0=0.1,
    kappa=30.0,
    vol=0.8,
    y0=0.0,
    jump_rate=500.0,
    jump_mean=0.2,
    jump_reversion=60.0,
    seasonality=Seasonality(mean=0.8),
)


def test_calendar_and_reproducibility() -> None:
    series = generate(MODEL, start="2026-03-01", periods=24 * 7, freq="1h", seed=7)
    assert series.index[0] == pd.Timestamp("2026-03-01", tz="UTC")
    assert series.index.freq == pd.Timedelta("1h")
    assert series.iloc[0] == pytest.approx(np.exp(0.9))
    pd.testing.assert_series_equal(series, generate(MODEL, start="2026-03-01", periods=24 * 7, seed=7))
    assert not series.equals(generate(MODEL, start="2026-03-01", periods=24 * 7, seed=8))


def test_mean_of_many_paths_is_the_model_forward() -> None:
    paths = generate(MODEL, periods=15, freq="1D", seed=1, paths=20_000)
    t = np.arange(15) / 365.0
    mean = paths.mean(axis=1).to_numpy()
    error = paths.std(axis=1).to_numpy() / np.sqrt(20_000)
    assert np.all(np.abs(mean - MODEL.forward(t)) < 4.0 * error + 1e-12)  # 4 standard errors


def test_too_few_periods_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        generate(MODEL, periods=1)
