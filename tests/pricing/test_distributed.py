"""Pricing work on Dask: the same numbers as the single-process path, on a cluster given by address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from pricing import price, price_many
from pricing.backtest import run
from pricing.calibration.sweep import sweep
from pricing.distributed import SCHEDULER_ENV, compute_on, map_ordered, scheduler_from_env
from pricing.hedging.effectiveness import StudySettings
from pricing.hedging.effectiveness import run as hedge_study
from pricing.models import Schwartz1F
from pricing.synthetic import generate

GBM = {"type": "gbm", "spot": 100.0, "vol": 0.4, "carry": 0.0}
ASIAN = {"type": "asian", "kind": "call", "strike": 100.0, "fixings": {"start": 0.1, "end": 1, "count": 12}}
MC = {"paths": 4000, "steps_per_year": 12}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """One small cluster for the module, used as if it were someone else's scheduler."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


@pytest.fixture(scope="module")
def series() -> pd.Series:
    return generate(Schwartz1F(spot=2.5, kappa=365.0, alpha=0.9, vol=2.7), periods=24 * 16, seed=3)


def _without_timing(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "elapsed_ms"}


def test_price_many_on_an_existing_scheduler_equals_pricing_one_by_one(cluster: LocalCluster) -> None:
    batch = [
        {"model": GBM, "instrument": {**ASIAN, "strike": strike}, "mc": {**MC, "seed": seed}}
        for strike, seed in [(90.0, 1), (100.0, 2), (110.0, 3), (100.0, 2)]
    ]
    results = price_many(batch, scheduler=cluster.scheduler_address, progress=True)
    alone = [price(request) for request in batch]
    assert [_without_timing(r) for r in results] == [_without_timing(r) for r in alone]
    assert results[1]["value"] == results[3]["value"]  # same request, same seed
    assert results[0]["value"] > results[1]["value"] > results[2]["value"]  # in order: strikes rise


def test_backtest_on_dask_reproduces_the_serial_run(cluster: LocalCluster, series: pd.Series) -> None:
    options: dict[str, Any] = {"horizons": ["1d"], "windows": ["1d"], "train": "5d", "step": "2d"}
    options |= {"n_paths": 200, "seed": 7}
    serial = run(series, ["schwartz1f", "gbm"], workers=1, **options)
    with Client(cluster.scheduler_address) as client:
        on_dask = run(series, ["schwartz1f", "gbm"], client=client, **options)
        kept = run(series, ["schwartz1f"], client=client, refit_every=2, **options)
    pd.testing.assert_frame_equal(serial.forecasts, on_dask.forecasts)
    assert on_dask.config["executor"] == "dask"
    assert on_dask.config["workers"] == 2
    kept_serial = run(series, ["schwartz1f"], workers=1, refit_every=2, **options)
    pd.testing.assert_frame_equal(kept_serial.forecasts, kept.forecasts)
    other_seed = run(series, ["gbm"], scheduler=cluster.scheduler_address, **{**options, "seed": 8})
    assert not other_seed.forecasts["mean"].equals(on_dask.forecasts.query("model == 'gbm'")["mean"])


def _scaled(shared: list[float], task: int) -> float:
    return shared[task] * 10


def _fails(task: int) -> int:
    if task == 2:
        raise ArithmeticError("task 2 failed")
    return task


def test_map_ordered_shares_one_scattered_input_and_raises_task_errors(cluster: LocalCluster) -> None:
    with Client(cluster.scheduler_address) as client:
        assert map_ordered(client, _scaled, [3, 0, 2], shared=[1.0, 2.0, 3.0, 4.0]) == [40.0, 10.0, 30.0]
        with pytest.raises(ArithmeticError, match="task 2 failed"):
            map_ordered(client, _fails, [0, 1, 2, 3])


def test_scheduler_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert scheduler_from_env(None) is None
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://10.0.0.5:8786")
    assert scheduler_from_env(None) == "tcp://10.0.0.5:8786"
    assert scheduler_from_env("local") == "local"
    with pytest.raises(ValueError, match="tcp://host:8786"):
        scheduler_from_env("10.0.0.5")
    with compute_on(workers=1) as client:  # a caller sizing its own pool keeps it: nothing connects
        assert client is None


def test_hedge_effectiveness_on_dask_reproduces_the_serial_study(cluster: LocalCluster) -> None:
    hours = pd.date_range("2027-03-01", periods=24 * 10, freq="1h", tz="UTC")
    paths = {
        product: generate(Schwartz1F(spot=2.4, kappa=50.0, alpha=0.9, vol=0.8), periods=hours.size, seed=seed)
        for product, seed in (("H100", 1), ("H200", 2))
    }
    settings = StudySettings(horizon="2d", step="2d", train="3d", gpus=8, scenarios=200, seed=3)
    serial = hedge_study(paths, settings)
    done: list[int] = []
    with Client(cluster.scheduler_address) as client:
        on_dask = hedge_study(paths, settings, done.append, client=client)
    pd.testing.assert_frame_equal(serial.outcomes, on_dask.outcomes)
    assert sum(done) == len(serial.outcomes) == 6  # three origins per product, each one task
    assert serial.outcomes["hedged"].nunique() == 6  # seeds differ per origin and product


def test_calibration_sweep_on_dask_reproduces_the_serial_table(
    cluster: LocalCluster, series: pd.Series
) -> None:
    named = {"calm": series, "short": series.iloc[:2]}
    serial = sweep(named, ["gbm", "schwartz1f"])
    done: list[int] = []
    on_dask = sweep(named, ["gbm", "schwartz1f"], scheduler=cluster.scheduler_address, progress=done.append)
    pd.testing.assert_frame_equal(serial, on_dask)
    assert sum(done) == 4
    assert list(zip(serial["series"], serial["model"], strict=True)) == [
        ("calm", "gbm"), ("calm", "schwartz1f"), ("short", "gbm"), ("short", "schwartz1f"),
    ]  # fmt: skip
    calm = serial.set_index("model").loc[["gbm", "schwartz1f"]].query("series == 'calm'")
    assert calm["converged"].all()
    assert (calm["error"] == "").all()
    assert calm.loc["schwartz1f", "aic"] < calm.loc["gbm", "aic"]  # the series mean-reverts
    assert (serial.query("series == 'short'")["error"] != "").all()  # kept, with its reason
    with pytest.raises(ValueError, match="unknown model 'heston'"):
        sweep(named, ["gbm", "heston"])
