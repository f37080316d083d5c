"""Benchmark 2 (issue 3): OU path generation throughput against numpy's own normal generator.

Exact OU paths need one standard normal per path-step, so generating the normals is the physical
floor. The figure is (path-steps per second of ``ArithmeticOU.simulate``) / (normals per second of
numpy's ``Generator.standard_normal``) for the same count and the same chunking, both measured in
this run, best of a few rounds. Target >= 0.5; the assertion is a floor well below it because the
machine is shared. Default size 100,000 paths x 365 daily steps; the full 1,000,000 x 365 runs
under ``-m slow``. Chunks of 20,000 paths keep memory at about 60 MB per chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pricing.models import ArithmeticOU, Seasonality, SeasonalTerm

STEPS = 365
CHUNK = 20_000
ROUNDS = 3
RATIO_FLOOR = 0.3  # target 0.5
MODEL = ArithmeticOU(
    x0=0.4,
    kappa=12.0,
    vol=1.5,
    seasonality=Seasonality(mean=2.5, trend=-0.5, terms=(SeasonalTerm(amplitude=0.2, period=1.0),)),
)
TIMES = np.arange(1, STEPS + 1) / 365.0


def _paths(n_paths: int) -> Callable[[], None]:
    def run() -> None:
        rng = np.random.default_rng(7)
        for _ in range(n_paths // CHUNK):
            MODEL.simulate(TIMES, CHUNK, rng)

    return run


def _normals(n_paths: int) -> Callable[[], None]:
    def run() -> None:
        rng = np.random.default_rng(7)
        for _ in range(n_paths // CHUNK):
            rng.standard_normal((STEPS, CHUNK))

    return run


def _best_seconds(run: Callable[[], None]) -> float:
    best = np.inf
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _benchmark(benchmark: Any, n_paths: int) -> None:
    baseline = _best_seconds(_normals(n_paths))
    ours = _best_seconds(_paths(n_paths))
    benchmark.pedantic(_paths(n_paths), rounds=1, iterations=1)
    path_steps = n_paths * STEPS
    figures = {
        "paths": n_paths,
        "steps": STEPS,
        "numpy_normals_per_s": path_steps / baseline,
        "ou_path_steps_per_s": path_steps / ours,
        "ratio": baseline / ours,
    }
    benchmark.extra_info.update(figures)
    print("\nou paths benchmark:", ", ".join(f"{k}={v:.4g}" for k, v in figures.items()))
    assert figures["ratio"] > RATIO_FLOOR


def test_ou_path_generation_throughput(benchmark: Any) -> None:
    _benchmark(benchmark, 100_000)


@pytest.mark.slow
def test_ou_path_generation_throughput_full_size(benchmark: Any) -> None:
    _benchmark(benchmark, 1_000_000)
