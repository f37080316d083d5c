"""Benchmark (issue 17): the vectorised waterfall against the per-path loop reference, same run.

A 36-month deal with three notes (OC and IC triggers, a reserve, fees, defaults, generation shocks:
``tests.pricing.securitization.deals.three_tranche``). Both implementations run the same pool
paths; the figure is loop seconds / vectorised seconds (best of a few rounds), and both results are
checked equal so the ratio compares the same work. The absolute times are printed as context only.
Default size 300 paths; the issue's 10,000 paths run under ``-m slow``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pricing.securitization.pool import simulate
from pricing.securitization.reference import run_loop
from pricing.securitization.waterfall import run
from tests.pricing.securitization.deals import deal_of, three_tranche

ROUNDS = 3
RATIO_FLOOR = 5.0
"""The vectorised waterfall must beat the loop by at least this much (measured: far more)."""


def _best_seconds(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """Best time over ``rounds`` calls, and the last call's result."""
    best, result = np.inf, None
    for _ in range(rounds):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def _benchmark(benchmark: Any, n_paths: int, loop_rounds: int) -> None:
    deal = deal_of(three_tranche(paths=n_paths, periods=36))
    started = time.perf_counter()
    pool = simulate(deal)
    pool_seconds = time.perf_counter() - started
    vectorised, fast = _best_seconds(lambda: run(deal, pool.cash, pool.collateral), ROUNDS)
    loop, slow = _best_seconds(lambda: run_loop(deal, pool.cash, pool.collateral), loop_rounds)
    np.testing.assert_allclose(fast.writedown, slow.writedown, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(fast.residual, slow.residual, rtol=1e-12, atol=1e-6)
    benchmark.pedantic(lambda: run(deal, pool.cash, pool.collateral), rounds=1, iterations=1)
    figures = {
        "paths": n_paths,
        "periods": 36,
        "tranches": 3,
        "pool_simulation_s": pool_seconds,
        "vectorised_s": vectorised,
        "loop_s": loop,
        "ratio": loop / vectorised,
    }
    benchmark.extra_info.update(figures)
    print("\nwaterfall benchmark:", ", ".join(f"{k}={v:.4g}" for k, v in figures.items()))
    assert figures["ratio"] > RATIO_FLOOR


def test_vectorised_waterfall_against_per_path_loop(benchmark: Any) -> None:
    _benchmark(benchmark, 300, loop_rounds=1)


@pytest.mark.slow
def test_vectorised_waterfall_against_per_path_loop_full_size(benchmark: Any) -> None:
    _benchmark(benchmark, 10_000, loop_rounds=2)
