"""Benchmark (issue 7): one backtest of the H100 SXM median, and its parallel speed-up.

Hourly median prices over the four weeks of the gpu-price-tracker file, three models (jump_ou,
schwartz1f, gbm), two horizons (1d, 7d), 1-day delivery windows, 7 days of training. The run is
timed in one process and on a pool of two processes; the baseline is the one-process run of the
same test. The calibration / simulation / scoring split is in CPU seconds (of the one-process run).

Asserted: only the speed-up ratio, with a floor well below the 2-core ideal of ~2 (the machine is
shared, and another process at full load leaves about one core). The default run uses origins
every 6 hours; the full size (an origin every hour) runs under ``-m slow``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pricing.backtest import BacktestResult, run
from pricing.series import load_series, resample

H100 = Path(__file__).resolve().parents[3] / "shared" / "data" / "gpu-price-tracker" / "H100_80GB_SXM5.jsonl"
pytestmark = pytest.mark.skipif(not H100.is_file(), reason="gpu-price-tracker data not present")

MODELS = ("jump_ou", "schwartz1f", "gbm")


def _backtest(step: str, workers: int) -> BacktestResult:
    series = resample(load_series(H100, stat="median"), "1h")
    return run(series, MODELS, horizons=("1d", "7d"), windows=("1d",), train="7d", step=step, n_paths=2000,
               workers=workers, progress=False)  # fmt: skip


def _measure(benchmark: pytest.FixtureRequest, step: str, floor: float) -> None:
    start = time.perf_counter()
    serial = _backtest(step, workers=1)
    serial_wall = time.perf_counter() - start
    parallel = benchmark.pedantic(_backtest, args=(step, 2), rounds=1, iterations=1)
    speedup = serial_wall / parallel.timings["wall"]
    figures = {
        "origins": serial.config["origins"],
        "forecast_rows": len(serial.forecasts),
        "wall_one_process_s": round(serial_wall, 2),
        "wall_two_processes_s": round(parallel.timings["wall"], 2),
        "speedup": round(speedup, 2),
        **{
            f"{phase}_s": round(serial.timings[phase], 2)
            for phase in ("calibration", "simulation", "scoring")
        },
    }
    benchmark.extra_info.update(figures)
    print(f"\nbacktest benchmark (step {step}): {figures}")
    assert parallel.forecasts.equals(serial.forecasts)  # same seeds, same numbers, in any process
    assert speedup >= floor, figures


def test_backtest_h100_small(benchmark: pytest.FixtureRequest) -> None:
    # Fifty origins (about 2 s in one process): pool start-up still weighs, so the floor is lower.
    _measure(benchmark, step="6h", floor=0.6)


@pytest.mark.slow
def test_backtest_h100_full(benchmark: pytest.FixtureRequest) -> None:
    # Two cores shared with other engineers' test runs: the speed-up measured 0.9-1.1 under load,
    # ~1.8 on an idle machine; the floor catches a pool that serialises or multiplies work.
    _measure(benchmark, step="1h", floor=0.75)
