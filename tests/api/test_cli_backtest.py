"""``flopex calibrate`` and ``flopex backtest`` on CSV files and the real gpu-price-tracker data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from pricing.models import Schwartz1F
from pricing.synthetic import generate

H100 = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-price-tracker" / "H100_80GB_SXM5.jsonl"


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    series = generate(Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7), periods=24 * 20, seed=2)
    path = tmp_path_factory.mktemp("data") / "prices.csv"
    series.rename("usd").to_frame().rename_axis("when").to_csv(path)
    return path


def test_calibrate_prints_a_table_and_json(csv_file: Path) -> None:
    args = [
        "calibrate",
        str(csv_file),
        "--model",
        "schwartz1f",
        "--time-column",
        "when",
        "--price-column",
        "usd",
    ]
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "kappa" in table.output
    assert "Ljung-Box" in table.output
    as_json = CliRunner().invoke(main, [*args, "--json"])
    summary = json.loads(as_json.output)
    assert summary["model"]["type"] == "schwartz1f"
    assert summary["std_errors"]["kappa"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["calibrate", "missing.csv"], "error: missing.csv: no such file"),
        (["calibrate", "{csv}"], "error: {csv}: no column 'timestamp'"),
        (["backtest", "{csv}", "--models", "heston", "--out", "x"], "error: unknown model 'heston'"),
        (
            [
                "backtest",
                "{csv}",
                "--time-column",
                "when",
                "--price-column",
                "usd",
                "--train",
                "30d",
                "--out",
                "x",
            ],
            "error: not enough data",
        ),
    ],
)
def test_mistakes_give_one_error_line(csv_file: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, [a.replace("{csv}", str(csv_file)) for a in args])
    assert result.exit_code != 0
    assert message.replace("{csv}", str(csv_file)) in result.output
    assert "Traceback" not in result.output


def test_backtest_writes_the_report(csv_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "backtest",
        str(csv_file),
        "--time-column",
        "when",
        "--price-column",
        "usd",
        "--models",
        "schwartz1f,bootstrap,stay",
        "--conformal",
        "--cqr",
        "--select",
        "--horizons",
        "1d,2d",
        "--window",
        "1d",
        "--train",
        "7d",
        "--step",
        "2d",
        "--paths",
        "200",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "schwartz1f" in result.output
    assert (out / "report.html").is_file()
    summary = json.loads((out / "metrics.json").read_text())
    assert {m["horizon"] for m in summary["metrics"]} == {"1d", "2d"}
    assert {m["model"] for m in summary["metrics"]} == {
        "schwartz1f",
        "bootstrap",
        "schwartz1f+conformal",
        "bootstrap+conformal",
        "schwartz1f+cqr",
        "bootstrap+cqr",
        "stay",
        "stay+conformal",
        "stay+cqr",
        "selected",
    }
    for entry in summary["metrics"]:
        assert entry["verdict"] in {"within", "consistent", "rejects"}
        assert 0 < entry["n_independent"] <= entry["n"]
    config = summary["config"]
    assert config["data"] == str(csv_file)
    assert config["price_column"] == "usd"
    assert config["series_step"] == "0 days 01:00:00"  # hourly data read hourly without --freq
    page = (out / "report.html").read_text()
    assert "<h2>Coverage</h2>" in page
    assert "randomised 90% (band)" in page
    assert "verdict" in page
    assert summary["config"]["select"] is True
    assert 'alt="pit"' in page
    assert str(csv_file) in page


@pytest.mark.skipif(not H100.is_file(), reason="gpu-price-tracker data not present")
def test_backtest_on_the_real_h100_median(tmp_path: Path) -> None:
    args = [
        "backtest",
        str(H100),
        "--format",
        "gpu-price-tracker",
        "--stat",
        "median",
        "--models",
        "schwartz1f,gbm",
        "--horizons",
        "1d",
        "--window",
        "1d",
        "--train",
        "7d",
        "--step",
        "4d",
        "--paths",
        "200",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "forecasts.csv").is_file()


def test_calibrate_and_the_sweep_say_why_a_fit_is_not_converged(tmp_path: Path) -> None:
    """One-factor data: schwartz_smith's sigma_xi collapses to 0. ``calibrate`` marks it FLAGGED
    beside its interval; the sweep's table names it and lists the reason below (no intervals
    needed: its log-scale standard error alone says so); jump_ou's default is the robust fit."""
    series = generate(Schwartz1F(spot=2.5, kappa=40.0, alpha=0.9, vol=0.8), periods=250, freq="1D", seed=3)
    path = tmp_path / "one_factor.csv"
    series.rename("price").to_frame().rename_axis("timestamp").to_csv(path)
    single = CliRunner().invoke(main, ["calibrate", str(path), "--model", "schwartz_smith"])
    assert single.exit_code == 0, single.output
    assert "FLAGGED" in next(line for line in single.output.splitlines() if line.startswith("sigma_xi"))
    assert "note: sigma_xi = " in single.output
    args = ["calibrate-sweep", str(path), "--models", "schwartz_smith,jump_ou", "--no-intervals"]
    swept = CliRunner().invoke(main, args)
    assert swept.exit_code == 0, swept.output
    assert "why not converged:" in swept.output
    assert "one_factor schwartz_smith: sigma_xi = " in swept.output
    rows = [json.loads(line) for line in CliRunner().invoke(main, [*args, "--json"]).output.splitlines()]
    assert rows[0]["flagged"] == "sigma_xi"
    jump = CliRunner().invoke(main, ["calibrate", str(path), "--model", "jump_ou", "--json"])
    assert json.loads(jump.output)["method"] == "robust threshold fit"
