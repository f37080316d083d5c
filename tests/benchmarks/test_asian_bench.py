"""Benchmark 1 (issue 3): an arithmetic Asian call on a forward, flopex Monte Carlo vs QuantLib's.

gbm with spot 100, carry 0 (an option on a forward), vol 40%; rate 5%; strike 100; 12 monthly
fixings from 1/12 to 1 year. The baseline, measured in the same run, is QuantLib's
MCDiscreteArithmeticAPEngine (pseudo-random, no variance reduction) with the same number of paths.

- speed: time(QuantLib) / time(flopex plain MC: pseudo-random, no antithetics, no control variate),
  target >= 8;
- efficiency: 1 / (variance x time) of flopex with its default variance reduction (scrambled Sobol
  with a Brownian bridge, antithetics, the geometric-average control variate) over the same for
  QuantLib's plain MC, target >= 300.

Only ratios are asserted, with floors well below the targets (the machine is shared); the figures
are printed and stored in ``benchmark.extra_info``. The default run uses 20,000 paths; the full
100,000-path size runs under ``-m slow``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pricing.analytic.quantlib import price_quantlib
from pricing.montecarlo import price_mc
from pricing.request import parse_request
from pricing.settings import MonteCarloSettings

REQUEST = parse_request(
    {
        "model": {"type": "gbm", "spot": 100.0, "vol": 0.4, "carry": 0.0},
        "rate": 0.05,
        "instrument": {"type": "asian", "kind": "call", "strike": 100.0,
                       "fixings": {"start": 1 / 12, "end": 1.0, "count": 12}},
    }
)  # fmt: skip
SPEED_FLOOR = 3.0
EFFICIENCY_FLOOR = 100.0
ROUNDS = 3


@dataclass(frozen=True)
class Run:
    seconds: float
    value: float
    std_error: float


def _best(run: Callable[[], tuple[float, float]]) -> Run:
    """The fastest of ROUNDS runs (the least disturbed by other processes)."""
    best = None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        value, std_error = run()
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best.seconds:
            best = Run(elapsed, value, std_error)
    assert best is not None
    return best


def _flopex(settings: MonteCarloSettings) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        result = price_mc(REQUEST.model, REQUEST.instrument, REQUEST.rate, settings)
        return result.value, result.std_error

    return run


def _quantlib(paths: int) -> Callable[[], tuple[float, float]]:
    settings = MonteCarloSettings(
        paths=paths, seed=1, antithetic=False, control_variate=False, sampler="pseudo"
    )

    def run() -> tuple[float, float]:
        value, std_error, _ = price_quantlib(REQUEST.model, REQUEST.instrument, REQUEST.rate, settings)
        assert std_error is not None
        return value, std_error

    return run


def _benchmark(benchmark: Any, paths: int) -> None:
    plain = MonteCarloSettings(paths=paths, seed=1, antithetic=False, control_variate=False, sampler="pseudo")
    default = MonteCarloSettings(paths=paths, seed=1)
    quantlib = _best(_quantlib(paths))
    flopex_plain = _best(_flopex(plain))
    flopex_default = _best(_flopex(default))
    benchmark.pedantic(_flopex(plain), rounds=ROUNDS, iterations=1)

    speed = quantlib.seconds / flopex_plain.seconds
    efficiency = (quantlib.std_error**2 * quantlib.seconds) / (
        flopex_default.std_error**2 * flopex_default.seconds
    )
    figures = {
        "paths": paths,
        "quantlib_ms": quantlib.seconds * 1e3,
        "quantlib_value": quantlib.value,
        "quantlib_std_error": quantlib.std_error,
        "flopex_plain_ms": flopex_plain.seconds * 1e3,
        "flopex_plain_value": flopex_plain.value,
        "flopex_plain_std_error": flopex_plain.std_error,
        "flopex_default_ms": flopex_default.seconds * 1e3,
        "flopex_default_value": flopex_default.value,
        "flopex_default_std_error": flopex_default.std_error,
        "speed_ratio": speed,
        "efficiency_ratio": efficiency,
    }
    benchmark.extra_info.update(figures)
    print("\nasian benchmark:", ", ".join(f"{k}={v:.6g}" for k, v in figures.items()))
    # The estimates must agree within 4 combined standard errors (QuantLib's dates are whole days:
    # its fixings move by under 12 hours, a shift well inside that).
    combined = (quantlib.std_error**2 + flopex_default.std_error**2) ** 0.5
    assert abs(quantlib.value - flopex_default.value) < 4 * combined
    assert speed > SPEED_FLOOR  # target 8
    assert efficiency > EFFICIENCY_FLOOR  # target 300


def test_asian_mc_against_quantlib(benchmark: Any) -> None:
    _benchmark(benchmark, 20_000)


@pytest.mark.slow
def test_asian_mc_against_quantlib_full_size(benchmark: Any) -> None:
    _benchmark(benchmark, 100_000)
