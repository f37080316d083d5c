"""``flopex price`` and ``flopex backtest`` with ``--scheduler``: the same output as without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from api.cli import main
from pricing import price
from pricing.models import Schwartz1F
from pricing.synthetic import generate

GBM = {"type": "gbm", "spot": 100.0, "vol": 0.4, "carry": 0.0}
EUROPEAN = {"type": "european", "kind": "call", "strike": 100.0, "expiry": 0.5}


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_price_many_requests_on_a_scheduler(address: str, tmp_path: Path) -> None:
    batch = [{"model": GBM, "instrument": {**EUROPEAN, "strike": k}} for k in (90.0, 110.0)]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(batch))
    remote = CliRunner().invoke(main, ["price", str(path), "--scheduler", address])
    assert remote.exit_code == 0, remote.output
    assert [r["value"] for r in json.loads(remote.output)] == [price(request)["value"] for request in batch]


def test_backtest_on_a_scheduler_writes_the_same_forecasts(address: str, tmp_path: Path) -> None:
    series = generate(Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7), periods=24 * 12, seed=2)
    data = tmp_path / "prices.csv"
    series.rename("usd").to_frame().rename_axis("when").to_csv(data)
    common = ["backtest", str(data), "--time-column", "when", "--price-column", "usd", "--models", "gbm"]
    common += ["--horizons", "1d", "--train", "5d", "--step", "2d", "--paths", "200"]
    serial = CliRunner().invoke(main, [*common, "--workers", "1", "--out", str(tmp_path / "a")])
    remote = CliRunner().invoke(main, [*common, "--scheduler", address, "--out", str(tmp_path / "b")])
    assert serial.exit_code == 0, serial.output
    assert remote.exit_code == 0, remote.output
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "a" / "forecasts.csv"), pd.read_csv(tmp_path / "b" / "forecasts.csv")
    )


def test_a_malformed_scheduler_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([{"model": GBM, "instrument": EUROPEAN}] * 2))
    result = CliRunner().invoke(main, ["price", str(path), "--scheduler", "somewhere:8786"])
    assert result.exit_code != 0
    assert "tcp://host:8786" in result.output
    assert "Traceback" not in result.output


def test_calibrate_sweep_prints_one_fit_per_file_and_model(address: str, tmp_path: Path) -> None:
    files = []
    for name, kappa in (("fast", 365.0), ("slow", 50.0)):
        series = generate(Schwartz1F(spot=2.5, kappa=kappa, alpha=0.9, vol=1.5), periods=24 * 8, seed=4)
        files.append(tmp_path / f"{name}.csv")
        series.rename("price").to_frame().rename_axis("timestamp").to_csv(files[-1])
    args = ["calibrate-sweep", *map(str, files), "--models", "gbm,schwartz1f", "--json"]
    here = CliRunner().invoke(main, args)
    remote = CliRunner().invoke(main, [*args, "--scheduler", address])
    assert here.exit_code == 0, here.output
    assert remote.output == here.output
    rows = [json.loads(line) for line in here.output.splitlines()]
    assert [(r["series"], r["model"]) for r in rows] == [
        ("fast", "gbm"), ("fast", "schwartz1f"), ("slow", "gbm"), ("slow", "schwartz1f"),
    ]  # fmt: skip
    assert sorted(r["aic_rank"] for r in rows) == [1, 1, 2, 2]  # ranked within each file
    assert next(r["model"] for r in rows if r["series"] == "fast" and r["aic_rank"] == 1) == "schwartz1f"
    assert rows[1]["params"]["model"]["type"] == "schwartz1f"
    wrong = CliRunner().invoke(main, ["calibrate-sweep", str(files[0]), "--models", "heston"])
    assert wrong.exit_code == 1
    assert "unknown model 'heston'" in wrong.output
    assert "Traceback" not in wrong.output
