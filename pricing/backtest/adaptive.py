"""Adaptive conformal intervals (``M+aci``): online calibration that stays valid under distribution shift.

Split-conformal layers (:mod:`pricing.backtest.recalibration`) assume past and future errors are
exchangeable; GPU rental prices shift level with the regime, and they are not. Adaptive conformal
inference (Gibbs and Candès, 2021) instead *steers* each interval by feedback: after every realised
outcome, the interval of nominal miss rate a is widened if it missed and narrowed if it covered,

    q <- q + eta (err - a),        err = 1 if the outcome fell outside the interval used, else 0,

which is their alpha_t+1 = alpha_t + gamma (alpha - err_t) written on the score scale (the quantile
tracker of Angelopoulos, Candès and Tibshirani, 2023, "Conformal PID control"). Whatever the
sequence of outcomes -- no exchangeability, no stationarity -- the misses of T updates satisfy
|mean(err) - a| <= (B + eta) / (eta T) for scores bounded by B: long-run coverage is guaranteed,
and how fast it arrives is set by eta.

Here q_c, for each central interval c of :data:`~pricing.backtest.recalibration.LEVELS`, is how far
(in ``unit`` s: the ensemble's standard deviation, at least ``FLOOR`` of its median, so that a
forecast with no spread on a flat history can still be widened) each end of the model's interval
is moved out (q > 0) or in (q < 0, never past the median). The ensemble's quantile function is moved
like the interval recalibration's (:meth:`~pricing.backtest.recalibration.Widening.apply`), so CRPS
and pinball loss score the adapted distribution.

**No look-ahead.** A forecast made at origin t for the window [t + h, t + h + L) is known only at
t + h + L: its update enters the state of every origin from then on, never before. One state per
model and window is shared by all horizons (an outcome is an outcome: one-day forecasts are known six
days before seven-day ones and steer them meanwhile), in units of each forecast's own spread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.backtest.recalibration import LEVELS, _groups, _known_at, move_intervals
from pricing.backtest.tasks import forecast_row

ACI_SUFFIX = "+aci"
ETA = 0.5
"""Step of the tracker, in units of the forecast's spread per outcome (see the module docstring)."""
FLOOR = 0.01
"""Smallest unit of a widening, as a share of the forecast's median (1% of the price)."""

_MISS = 1.0 - np.asarray(LEVELS)
_LOWER = np.array([(1 - c) / 2 for c in LEVELS])
_UPPER = np.array([(1 + c) / 2 for c in LEVELS])


def unit(ensemble: NDArray[np.floating]) -> float:
    """The scale of a widening: the ensemble's standard deviation, at least ``FLOOR`` of its median."""
    x = np.asarray(ensemble, dtype=float)
    return max(float(np.std(x)), FLOOR * abs(float(np.median(x))))


def misses(ensemble: NDArray[np.floating], realised: float, q: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 where ``realised`` fell outside the model's central interval moved out by ``q`` units, per level."""
    x = np.asarray(ensemble, dtype=float)
    step = unit(x)
    low, high = np.quantile(x, _LOWER), np.quantile(x, _UPPER)
    return ((realised < low - q * step) | (realised > high + q * step)).astype(float)


def adapt(ensemble: NDArray[np.floating], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ensemble with each central interval's ends moved out by q units (in: never past the median)."""
    x = np.asarray(ensemble, dtype=float)
    step = unit(x)
    centre = float(np.median(x))
    half = np.minimum(centre - np.quantile(x, _LOWER), np.quantile(x, _UPPER) - centre)
    return move_intervals(x, np.maximum(q * step, -half))


def tracked(
    origins: Sequence[pd.Timestamp],
    known_at: Sequence[pd.Timestamp],
    outcome: Sequence[float],
    ensembles: Sequence[NDArray[np.floating]],
    eta: float = ETA,
) -> NDArray[np.float64]:
    """The widening q (one column per level) used at each forecast, in origin order, from the outcomes
    known by its origin only: each forecast's miss, judged against the q it was issued with, updates
    the state once its window has ended."""
    order = pd.DatetimeIndex(origins).argsort(kind="stable")
    pending = sorted(range(len(origins)), key=lambda i: known_at[i])
    used = np.zeros((len(origins), len(LEVELS)))
    state = np.zeros(len(LEVELS))
    k = 0
    for i in order:
        while k < len(pending) and known_at[pending[k]] <= origins[i]:
            j = pending[k]
            if np.isfinite(outcome[j]):
                state = state + eta * (misses(ensembles[j], outcome[j], used[j]) - _MISS)
            k += 1
        used[i] = state
    return used


def adaptive_rows(
    rows: Sequence[dict], ensembles: Sequence[NDArray[np.floating] | None], eta: float = ETA
) -> list[dict]:
    """Adaptively calibrated copies (model name + ``ACI_SUFFIX``) of every forecast row with an ensemble."""
    out = []
    for (model, window), indices in _groups(rows, ensembles).items():
        group = [rows[i] for i in indices]
        members = [ensembles[i] for i in indices]
        origins = [r["origin"] for r in group]
        known = [_known_at(r, window) for r in group]
        q = tracked(origins, known, [r["realised"] for r in group], members, eta)
        n_known = np.searchsorted(
            pd.DatetimeIndex(known).sort_values(), pd.DatetimeIndex(origins), side="right"
        )
        for row, ensemble, widen, n in zip(group, members, q, n_known, strict=True):
            new = {**row, "model": model + ACI_SUFFIX, "recal_n": int(n), "recal_pool": "adaptive"}
            new.update(forecast_row(adapt(ensemble, widen), row["forward"], row["realised"]))
            out.append(new)
    return out
