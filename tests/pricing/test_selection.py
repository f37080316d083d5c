"""Model selection by out-of-sample score (pricing.selection)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import pricing
from pricing.models import Schwartz1F
from pricing.selection import Selection, select_model
from pricing.synthetic import generate

# Log price reverting with a half-life of 17 hours: the mean-reverting model should beat the random walk.
TRUE = Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7)


@pytest.fixture(scope="module")
def selection() -> Selection:
    series = generate(TRUE, periods=24 * 16, seed=4)
    return select_model(series, ("gbm", "schwartz1f"), horizons=("1d",), step="1d", n_paths=300)


def test_the_better_forecaster_is_chosen_and_calibrated_at_the_last_observation(selection: Selection) -> None:
    assert [c.model for c in selection.ranking] == ["schwartz1f", "gbm"]
    assert selection.model == "schwartz1f"
    assert selection.score.crps < selection.ranking[1].crps
    assert selection.score.n == selection.settings["origins"]
    assert selection.as_of == pd.Timestamp(selection.settings["series_end"])
    assert selection.params["type"] == "schwartz1f"
    assert set(selection.score.coverage) == {"50", "80", "90", "95"}
    # the chosen model prices as it is
    value = pricing.price(
        {
            "model": selection.params,
            "instrument": {"type": "forward", "fixings": {"start": 1 / 365, "end": 2 / 365, "count": 24}},
        }
    )
    assert value["value"] > 0


def test_summary_is_json_ready(selection: Selection) -> None:
    summary = json.loads(json.dumps(selection.as_dict()))
    assert summary["model"] == "schwartz1f"
    assert summary["calibrated_at"] == selection.as_of.isoformat()
    assert [c["model"] for c in summary["ranking"]] == ["schwartz1f", "gbm"]
    assert "kappa" in summary["calibration"]["intervals"]


def test_only_priceable_models_are_candidates() -> None:
    series = generate(TRUE, periods=24 * 16, seed=4)
    with pytest.raises(ValueError, match="not a priceable model: 'bootstrap'"):
        select_model(series, ("bootstrap",))
    with pytest.raises(ValueError, match="not enough data"):
        select_model(series.iloc[:48], ("gbm",))
