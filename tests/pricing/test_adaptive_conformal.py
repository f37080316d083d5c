"""Adaptive conformal intervals (M+aci): online steering of each interval by its own misses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pricing.backtest.adaptive import adaptive_rows, tracked
from pricing.backtest.recalibration import LEVELS, interval_rows

INTERVALS = [("q25", "q75"), ("q10", "q90"), ("q05", "q95"), ("q2.5", "q97.5")]


def _shifting(n: int = 450, seed: int = 4) -> tuple[list[dict], list[np.ndarray]]:
    """Daily forecasts N(10, 1) of outcomes whose spread changes regime: 1, then 3, then 0.5."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([1.0, 3.0, 0.5], n // 3)
    rows, ensembles = [], []
    for origin, sd in zip(pd.date_range("2025-01-01", periods=n, freq="1D", tz="UTC"), truth, strict=True):
        ensembles.append(rng.normal(10.0, 1.0, 400).astype(np.float32))
        rows.append({"origin": origin, "model": "m", "horizon": "1d", "window": "1d",
                     "realised": float(rng.normal(10.0, sd)), "forward": 10.0})  # fmt: skip
    return rows, ensembles


def _coverage(frame: pd.DataFrame) -> list[float]:
    return [float(((frame["realised"] >= frame[lo]) & (frame["realised"] <= frame[hi])).mean())
            for lo, hi in INTERVALS]  # fmt: skip


def test_under_regime_shifts_every_level_covers_at_its_rate_where_split_conformal_does_not() -> None:
    rows, ensembles = _shifting()
    aci = pd.DataFrame(adaptive_rows(rows, ensembles))
    cqr = pd.DataFrame(interval_rows(rows, ensembles))
    assert set(aci["model"]) == {"m+aci"}
    # each regime on its own (150 outcomes): the binomial s.e. of a 90% coverage is 0.025
    for regime in range(3):
        part = aci.iloc[regime * 150 + 15 : (regime + 1) * 150]
        for got, level in zip(_coverage(part), LEVELS, strict=True):
            assert got == pytest.approx(level, abs=0.08), (regime, level)
    # the exchangeable layer averages the regimes: far too wide in the calm third
    calm = _coverage(cqr.iloc[315:])
    assert calm[0] > 0.85


def test_long_run_misses_obey_the_deterministic_bound_on_an_adversarial_sequence() -> None:
    """|mean(err) - a| <= (B + eta) / (eta T) whatever the outcomes (Gibbs and Candès 2021, Prop. 4.1)."""
    origins = list(pd.date_range("2025-01-01", periods=300, freq="1D", tz="UTC"))
    known = [o + pd.Timedelta(days=1) for o in origins]
    ensembles = [np.linspace(-1.0, 1.0, 201)] * 300
    outcome = [(-1) ** k * (0.0 if k % 7 else 50.0) for k in range(300)]  # far misses, then nothing
    eta = 0.5
    q = tracked(origins, known, outcome, ensembles, eta)
    step = float(np.std(ensembles[0]))
    low = np.quantile(ensembles[0], [(1 - c) / 2 for c in LEVELS])
    high = np.quantile(ensembles[0], [(1 + c) / 2 for c in LEVELS])
    err = np.array([(y < low - w * step) | (y > high + w * step) for y, w in zip(outcome, q, strict=True)])
    bound = (50.0 / step + eta) / (eta * (len(origins) - 1))
    assert np.all(np.abs(err[:-1].mean(axis=0) - (1 - np.array(LEVELS))) <= bound + 1e-12)


def test_an_outcome_steers_only_forecasts_made_after_its_window_ends() -> None:
    origins = list(pd.date_range("2025-01-01", periods=20, freq="1D", tz="UTC"))
    known = [o + pd.Timedelta(days=8) for o in origins]  # a 7-day horizon with a 1-day window
    ensembles = [np.linspace(-1.0, 1.0, 201)] * 20
    base = tracked(origins, known, [0.0] * 20, ensembles)
    moved = tracked(origins, known, [0.0] * 5 + [9.0] + [0.0] * 14, ensembles)  # origin 5 misses
    changed = np.flatnonzero(np.any(base != moved, axis=1))
    assert changed.min() == 13  # known on day 5 + 8 = origin 13, never before
    assert np.all(base[:8] == 0.0)  # nothing is known before the first window ends
