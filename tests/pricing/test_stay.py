"""The stay forecaster: an atom at "no change" from the history's runs, then the local_level replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.backtest import run
from pricing.backtest.coverage import expected_coverage
from pricing.backtest.stay import StayModel, StayPaths, hazard_counts, runs
from pricing.backtest.tasks import forecast_row
from pricing.models import GBM
from pricing.series import HOURS_PER_YEAR

HOUR = 1.0 / HOURS_PER_YEAR


def _hours(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2025-01-01", periods=values.size, freq="1h", tz="UTC"))


def test_runs_and_the_hazard_counts_past_half_the_current_age() -> None:
    lengths = runs(np.array([1.0, 1, 1, 2, 2, 1, 1, 1, 1]))
    assert lengths.tolist() == [3, 2, 4]
    # stayed 2, 1 and (still running) 3 steps; from age 1 on: both completed runs changed there
    # (E = 2) after 1 + 0 staying steps plus their changing steps, and the current run stayed 2
    assert hazard_counts(lengths) == (2.0, 5.0)
    # a run longer than any before: no comparable change, exposure half its age
    assert hazard_counts(runs(np.array([1.0] + [2.0] * 10))) == (0.0, 5.0)
    assert hazard_counts(runs(np.array([]))) == (0.0, 0.0)


def test_the_share_of_paths_still_on_todays_price_matches_the_stay_probability() -> None:
    model = StayPaths(price=2.0, base=GBM(spot=2.0, vol=0.8), events=3.0, exposure=400.0, step=HOUR)
    times = np.arange(1, 49) * HOUR
    paths = model.simulate(times, 20_000, np.random.default_rng(1))
    flat = np.all(paths == 2.0, axis=1).mean()
    # exp(-k r) for (1 - r)^k costs about k r^2 / 2 ~ 0.0015 here; Monte Carlo s.e. 0.0035
    assert flat == pytest.approx(model.stay_probability(48 * HOUR), abs=0.012)
    assert 0.5 < flat < 0.9
    moved = paths[~np.all(paths == 2.0, axis=1)]
    assert np.all(moved[:, -1] != 2.0)  # after the change time a path follows the base model


def test_a_calibrated_forecast_with_an_atom_covers_at_nominal_by_the_randomised_rule_only() -> None:
    """Outcomes drawn from the forecast itself (a 1-day window average that equals today's price with
    probability ~0.6): the randomised coverage is nominal within 3 binomial s.e. of 1,500 outcomes
    (0.013 at 50%); the closed interval, filled by the atom at 50%, covers every outcome on it."""
    model = StayPaths(price=2.0, base=GBM(spot=2.0, vol=0.8), events=2.0, exposure=211.0, step=HOUR)
    times = np.arange(24, 48) * HOUR
    rng = np.random.default_rng(7)
    ensemble = model.simulate(times, 4000, rng).mean(axis=1)
    outcomes = [float(pd.Series(path).mean()) for path in model.simulate(times, 1500, rng)]
    assert np.mean(np.array(outcomes) == 2.0) == pytest.approx(0.6, abs=0.05)
    rows = pd.DataFrame([forecast_row(ensemble, 2.0, y) for y in outcomes])
    for level in (0.5, 0.8, 0.9, 0.95):
        randomised = float(np.mean(expected_coverage(rows["pit_low"], rows["pit_high"], level)))
        se = np.sqrt(level * (1 - level) / len(rows))
        assert randomised == pytest.approx(level, abs=3 * se + 0.01), level  # + the ensemble's own error
    closed = float(np.mean((np.array(outcomes) >= rows["q25"]) & (np.array(outcomes) <= rows["q75"])))
    assert closed > 0.55  # every outcome on the atom counts as covered


def test_the_backtest_gives_stay_the_whole_history_and_its_forecasts_hold_todays_price() -> None:
    """A price held for days at a time: stay forecasts today's price exactly in many windows, and
    with 7-day training its runs are still read from the whole past (expanding)."""
    rng = np.random.default_rng(3)
    levels = np.repeat(2.0 * np.exp(np.cumsum(rng.normal(0.0, 0.05, 12))), 48)
    series = _hours(levels)
    model = StayModel()
    full = model.fit(series)
    recent = model.fit(series.iloc[-24 * 7 :])
    assert full.exposure > recent.exposure  # more runs seen
    result = run(series, ["stay", "local_level"], horizons=["1d"], windows=["1d"], train="7d", step="1d",
                 n_paths=400, workers=1, progress=False)  # fmt: skip
    stay = result.forecasts[result.forecasts["model"] == "stay"]
    on_atom = stay[stay["realised"] == stay["last"]]
    assert len(on_atom) >= 5
    assert (on_atom["pit_high"] > on_atom["pit_low"] + 0.2).all()  # the atom holds real mass there
    assert ((stay["q25"] <= stay["last"]) & (stay["last"] <= stay["q75"])).mean() > 0.5
    crps = {m["model"]: m["crps"] for m in result.metrics}
    assert crps["stay"] < crps["local_level"]
