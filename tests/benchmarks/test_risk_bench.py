"""The vectorised margin scan against a per-position pricing loop, as a ratio in the same run.

The book: ``N`` positions of one product (forwards and European calls and puts on month windows),
revalued under the scan's 16 scenarios. The baseline calls ``pricing.price`` (the pricing core's
closed forms) once per position and scenario, the way a naive risk engine would; the scan revalues
all of them in one numpy pass (:func:`pricing.risk.scan.scenario_pnl`). Both must agree to 1e-9 and
only the ratio is asserted (a floor well below what is measured: the machine is shared).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import pricing
from pricing.risk import Book, Exposure, ScanParameters
from pricing.risk.scan import scenario_pnl, scenarios

VOL = 0.6
RATIO_FLOOR = 20.0


def _book(n: int) -> list[Exposure]:
    rng = np.random.default_rng(5)
    out = []
    for i in range(n):
        start = (5 + 30 * (i % 3)) / 365
        units = float(rng.integers(-5, 6) or 1) * 720
        forward = 2.0 + 0.1 * (i % 7)
        kind = ("forward", "call", "put")[i % 3]
        strike = forward * (0.9 + 0.05 * (i % 5)) if kind != "forward" else 0.0
        out.append(Exposure(kind, units, forward, start, start + 30 / 365, strike, start - 2 / 365))
    return out


def _loop_pnl(exposures: list[Exposure], params: ScanParameters) -> np.ndarray:
    steps, vol_moves, _ = scenarios(params)
    span = params.scan_range(VOL)

    def value(e: Exposure, factor: float, vol: float) -> float:
        model = {"type": "gbm", "spot": e.forward * factor, "vol": vol, "carry": 0.0}
        fixings = [e.start + d / 365 for d in range(30)]
        if e.kind == "forward":
            instrument = {"type": "forward", "fixings": fixings}
        else:
            swap = {"swap": fixings}
            instrument = {"type": "european", "kind": e.kind, "strike": e.strike, "expiry": e.expiry}
            instrument["underlying"] = swap
        request = {"model": model, "instrument": instrument, "rate": 0.0, "method": "analytic"}
        return pricing.price(request)["value"]

    base = [value(e, 1.0, VOL) for e in exposures]
    return np.array(
        [
            sum(
                (value(e, math.exp(step * span), VOL * (1 + dv)) - b) * e.units
                for e, b in zip(exposures, base, strict=True)
            )
            for step, dv in zip(steps, vol_moves, strict=True)
        ]
    )


def _best(run, rounds: int = 3) -> tuple[float, np.ndarray]:
    best, result = math.inf, None
    for _ in range(rounds):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


@pytest.mark.parametrize("n", [60])
def test_vectorised_scan_against_a_per_position_loop(n: int, benchmark) -> None:
    exposures = _book(n)
    params = ScanParameters()
    book = Book.of(exposures)
    loop_seconds, loop = _best(lambda: _loop_pnl(exposures, params), rounds=1)
    scan_seconds, vectorised = _best(lambda: scenario_pnl(book, VOL, params), rounds=5)
    assert vectorised == pytest.approx(loop, rel=1e-9, abs=1e-6)
    ratio = loop_seconds / scan_seconds
    benchmark.extra_info.update(loop_seconds=loop_seconds, scan_seconds=scan_seconds, ratio=ratio)
    print(
        f"\n{n} positions x 16 scenarios: loop {loop_seconds:.3f} s, "
        f"scan {scan_seconds * 1e3:.2f} ms, x{ratio:.0f}"
    )
    benchmark.pedantic(lambda: scenario_pnl(book, VOL, params), rounds=3, iterations=1)
    assert ratio > RATIO_FLOOR
