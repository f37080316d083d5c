"""The real-history study: exact locking on a known path, and the CLI on the shared price data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import main
from pricing.hedging.effectiveness import StudySettings, run
from pricing.series import make_series

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "gpu-price-tracker"


def _path(days: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2027-03-01", periods=24 * days, freq="1h", tz="UTC")
    prices = 2.4 * np.exp(np.cumsum(0.01 * rng.standard_normal(hours.size)))
    return make_series(hours, prices)


def test_perfect_forecast_locks_every_origin_and_savings_are_price_moves_less_asks() -> None:
    series = _path(12, 5)
    settings = StudySettings(horizon="2d", step="2d", train="3d", gpus=10, usage_spread=0.0, scenarios=200)
    result = run({"H100": series}, settings)
    outcomes = result.outcomes
    assert len(outcomes) == 4  # origins 03-04, 06, 08, 10 (each needs 2 days of prices after it)
    assert np.allclose(outcomes["hedged"], outcomes["expected_hedged"], rtol=1e-12)
    for row in outcomes.itertuples():
        hours = pd.date_range(row.origin, periods=48, freq="1h")
        assert row.unhedged == pytest.approx(10 * series.reindex(hours).sum(), rel=1e-12)
        assert row.gpus_bought == 20  # 10 GPUs in each of two day forwards
    summary = result.summary.set_index("product")
    assert summary.loc["H100", "variance_reduction"] == pytest.approx(1.0, abs=1e-12)
    assert summary.loc["all", "saving_total"] == pytest.approx(outcomes["saving"].sum())


@pytest.mark.skipif(not DATA.is_dir(), reason="gpu-price-tracker data not present")
def test_hedge_report_on_the_real_h100_prices(tmp_path: Path) -> None:
    args = [
        "hedge",
        "report",
        str(DATA),
        "--products",
        "H100",
        "--horizon",
        "1d",
        "--step",
        "4d",
        "--train",
        "3d",
        "--scenarios",
        "200",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]
    assert [row["product"] for row in summary] == ["H100", "all"]
    assert summary[0]["origins"] >= 5
    assert 0.0 < summary[0]["variance_reduction"] <= 1.0
    assert "data:image/png;base64" in (tmp_path / "report.html").read_text()


def test_hedge_plan_cli(tmp_path: Path) -> None:
    snapshot = tmp_path / "market.json"
    snapshot.write_text(
        json.dumps(
            {
                "valuation": "2027-01-01T00:00:00Z",
                "models": {"H100": {"type": "gbm", "spot": 2.4, "vol": 0.6}},
            }
        )
    )
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "product,start,q10,q50,q90\n"
        + "".join(f"H100,2027-01-{d:02d}T00:00:00Z,1400,1536,1900\n" for d in range(1, 8))
    )
    out = tmp_path / "report"
    args = [
        "hedge",
        "plan",
        str(usage),
        "--market",
        str(snapshot),
        "--list-series",
        "--scenarios",
        "300",
        "--json",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output[: result.output.rindex("}") + 1])
    assert plan["variance_reduction"] > 0.2
    assert {p["symbol"] for p in plan["positions"]} & {"H100-2026-W53", "H100-2027-W01", "H100-2027-01-01"}
    assert (out / "report.html").is_file()
    usage.write_text("product,start,usage\nH100,2027-01-02T00:00:00Z,-3\n")
    result = CliRunner().invoke(main, ["hedge", "plan", str(usage), "--market", str(snapshot)])
    assert result.exit_code == 1
    assert "usage.csv line 2.usage: usage cannot be negative" in result.output
