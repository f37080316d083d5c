"""``flopex risk backtest`` on the real gpu-price-tracker series."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main

DATA = next(
    (
        p / "shared" / "data" / "gpu-price-tracker"
        for p in Path(__file__).resolve().parents
        if (p / "shared").is_dir()
    ),
    Path("/nonexistent"),
)
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared gpu-price-tracker data is not here")


def test_backtest_scores_both_vars_on_the_real_series() -> None:
    result = CliRunner().invoke(main, ["risk", "backtest", str(DATA), "--max-gap", "12h"])
    assert result.exit_code == 0, result.output
    assert "historical" in result.output
    assert "monte_carlo" in result.output
    assert result.output.strip().endswith("better calibrated: historical")


def test_backtest_json_has_both_tests_per_method() -> None:
    args = ["risk", "backtest", str(DATA / "H100_80GB_SXM5.jsonl"), "--json", "--window", "100"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {s["method"] for s in report["scores"]} == {"historical", "monte_carlo"}
    for score in report["scores"]:
        assert 0 <= score["kupiec"]["p_value"] <= 1
        assert 0 <= score["independence"]["p_value"] <= 1


def test_backtest_refuses_a_window_longer_than_the_data() -> None:
    args = ["risk", "backtest", str(DATA / "H100_80GB_SXM5.jsonl"), "--window", "100000"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "error:" in result.output
