"""How much a backtest's coverage says: randomised coverage on atoms, independent outcomes, binomial
bands and verdicts; the online (no look-ahead) selected model; nominal coverage on a model's own data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pricing.backtest import run
from pricing.backtest.coverage import expected_coverage, independent_outcomes, nominal_band, overall, verdict
from pricing.backtest.selected import SELECTED, selected_rows
from pricing.models import Schwartz1F
from pricing.synthetic import generate


def test_randomised_coverage_splits_an_atom_by_its_share_inside_the_interval() -> None:
    # the outcome sits on an atom spanning PIT 0.2-0.8: 0.5 of its 0.6 lies in [0.25, 0.75]
    assert expected_coverage([0.2], [0.8], 0.5)[0] == pytest.approx(0.5 / 0.6)
    assert expected_coverage([0.2], [0.8], 0.95)[0] == pytest.approx(1.0)
    # off any atom it is the closed rule's 0 or 1
    assert expected_coverage([0.3, 0.01, 0.975], [0.3, 0.01, 0.975], 0.5).tolist() == [1.0, 0.0, 0.0]
    assert expected_coverage([0.975], [0.975], 0.95)[0] == 1.0


def test_independent_outcomes_count_forecasts_with_disjoint_spans() -> None:
    origins = pd.date_range("2025-01-01", periods=50, freq="6h", tz="UTC")  # 12.25 days of origins
    assert independent_outcomes(origins, pd.Timedelta("2D")) == 7  # 1-day horizon, 1-day window
    assert independent_outcomes(origins, pd.Timedelta("8D")) == 2  # 7-day horizon
    assert independent_outcomes(origins, pd.Timedelta("6h")) == 50
    assert independent_outcomes([], pd.Timedelta("1D")) == 0


def test_the_band_is_the_binomial_range_and_the_verdicts_follow_it() -> None:
    low, high = nominal_band(100, 0.9)
    assert (low, high) == (stats.binom.ppf(0.025, 100, 0.9) / 100, stats.binom.ppf(0.975, 100, 0.9) / 100)
    assert nominal_band(2, 0.9) == (0.5, 1.0)  # two independent outcomes: almost anything goes
    assert verdict(0.86, 0.9, 7) == "within"
    assert verdict(0.70, 0.9, 7) == "consistent"  # 7 outcomes cannot tell 0.70 from 0.90
    assert verdict(0.70, 0.9, 100) == "rejects"
    assert overall(["within", "consistent"]) == "consistent"
    assert overall(["within", "rejects"]) == "rejects"
    assert overall(["within"] * 4) == "within"


def test_the_band_holds_at_least_95_percent_by_exact_binomial_sums() -> None:
    """Independent of scipy: with 7 outcomes at 90%, P(X <= 3) < 2.5% <= P(X <= 4), so the band starts
    at 4/7; it ends at 7/7; and it holds 99.7% (not 95%: the share moves in steps of 1/7)."""

    def cdf(k: int, n: int, c: float) -> float:
        return sum(math.comb(n, j) * c**j * (1 - c) ** (n - j) for j in range(k + 1))

    assert cdf(3, 7, 0.9) < 0.025 <= cdf(4, 7, 0.9)
    assert nominal_band(7, 0.9) == (4 / 7, 1.0)
    assert cdf(7, 7, 0.9) - cdf(3, 7, 0.9) == pytest.approx(0.99727, abs=1e-5)
    for n in (1, 2, 7, 10, 14, 49, 70):
        for c in (0.5, 0.8, 0.9, 0.95):
            low, high = (round(x * n) for x in nominal_band(n, c))
            assert cdf(high, n, c) - (cdf(low - 1, n, c) if low else 0.0) >= 0.95


def _row(model: str, origin: str, horizon: str, crps: float, realised: float = 1.0) -> dict:
    return {"model": model, "origin": pd.Timestamp(origin, tz="UTC"), "horizon": horizon, "window": "1d",
            "realised": realised, "crps": crps}  # fmt: skip


def test_the_selected_model_at_an_origin_uses_only_outcomes_known_then() -> None:
    """a is better on the first outcome, b on every later one. At day 2 only the day-0 1-day outcome
    is known (its window ended at day 2): a is chosen. From day 3 b's lead counts. Day 0 and 1 have
    nothing known and are left out (warm-up)."""
    rows = []
    for day in range(6):
        origin = f"2025-01-0{day + 1}"
        rows += [_row("a", origin, "1d", 1.0 if day == 0 else 3.0), _row("b", origin, "1d", 2.0)]
        rows += [_row("a", origin, "7d", 9.0), _row("b", origin, "7d", 9.0)]
    chosen = selected_rows(rows, ["a", "b"])
    picks = {(r["origin"].day, r["horizon"]): r["selected_from"] for r in chosen}
    assert sorted({day for day, _ in picks}) == [3, 4, 5, 6]
    assert picks[(3, "1d")] == picks[(3, "7d")] == "a"
    assert picks[(5, "1d")] == "b"
    assert all(r["model"] == SELECTED for r in chosen)
    # changing an outcome not yet known at day 3 does not change day 3's choice
    late = [dict(r, crps=0.0) if r["model"] == "b" and r["origin"].day == 2 and r["horizon"] == "1d" else r
            for r in rows]  # fmt: skip
    assert {(r["origin"].day, r["horizon"]): r["selected_from"] for r in selected_rows(late, ["a", "b"])}[
        (3, "1d")
    ] == "a"
    # a failed forecast among the known ones rules a model out
    failed = [dict(r, crps=np.nan) if r["model"] == "a" and r["origin"].day == 1 else r for r in rows]
    assert {r["selected_from"] for r in selected_rows(failed, ["a", "b"])} == {"b"}
    # a model whose fit fails at day 3 itself is not chosen there (its copy would be a failed row,
    # dropped from the metrics, so the origin silently went missing from the selected set)
    down = [dict(r, error="fit failed: x", crps=np.nan) if r["model"] == "a" and r["origin"].day == 3 else r
            for r in rows]  # fmt: skip
    picks = {(r["origin"].day, r["horizon"]): r["selected_from"] for r in selected_rows(down, ["a", "b"])}
    assert picks[(3, "1d")] == picks[(3, "7d")] == "b"


# Log price reverting with a half-life of 7 days around ln 2.46, stationary log spread 0.1 (daily data).
WEEKLY = Schwartz1F(spot=2.5, kappa=36.5, alpha=0.9, vol=0.854)


def test_a_model_backtested_on_its_own_data_covers_at_nominal_at_both_horizons() -> None:
    """Three two-year daily series from schwartz1f, fitted on 180 days at origins 8 days apart (every
    forecast's span is disjoint from the next: 68 independent outcomes per series and horizon, 204 in
    all). The pooled randomised coverage is within 3 binomial s.e. of nominal at every level and both
    horizons (s.e. 0.035 / 0.028 / 0.021 / 0.015 at 50 / 80 / 90 / 95%); the selected row set (one
    candidate) is the model's own forecasts after the warm-up."""
    metrics = []
    for seed in range(3):
        series = generate(WEEKLY, start="2022-01-01", periods=2 * 365, freq="1D", seed=seed)
        result = run(series, ["schwartz1f"], horizons=["1d", "7d"], windows=["1d"], train="180d", step="8d",
                     n_paths=500, workers=1, progress=False, select=True)  # fmt: skip
        metrics += [m for m in result.metrics if m["model"] == "schwartz1f"]
        chosen = result.forecasts[result.forecasts["model"] == SELECTED]
        assert set(chosen["selected_from"]) == {"schwartz1f"}
    frame = pd.DataFrame(metrics)
    for horizon, part in frame.groupby("horizon"):
        n = int(part["n_independent"].sum())
        assert n == int(part["n"].sum()) >= 200
        for name, level in (("50", 0.5), ("80", 0.8), ("90", 0.9), ("95", 0.95)):
            pooled = float(np.average(part[f"rcoverage{name}"], weights=part["n"]))
            assert pooled == pytest.approx(level, abs=3 * np.sqrt(level * (1 - level) / n)), (horizon, level)
