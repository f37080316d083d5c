"""Conformal recalibration: the last, documented layer that reshapes a model's forecast distribution.

A model's forecast of a window average is an ensemble x (simulated averages). Standardise it by its
own median m and standard deviation s: u = (x - m) / s, and the realised average A by the same:
z = (A - m) / s (the model's standardised error). If the model were calibrated, past z would be
draws from the distribution of u. The recalibrated forecast replaces the law of u by a mixture of
the model's own u (weight ``PRIOR`` scores) and the empirical distribution of the past z (weight 1
each), and maps it back: x' = m + s v, v drawn from that mixture. With few past scores it is the
model; with many, split-conformal quantiles of the standardised error (the data's own shape: a sharp
centre where prices repeat, heavy tails where they jump), scaled by the model's current spread.

Only **past** forecasts enter: at an origin t, those whose delivery window had ended by t
(origin + horizon + window <= t). Nothing realised after t is used, so the recalibrated forecasts
are as out-of-sample as the model's own. Scores come from the same horizon when there are at least
``MIN_SCORES`` of them, else from every horizon pooled (a one-day forecast is realised a week before a
seven-day one can be). Each row records how many scores it used (``recal_n``) and from where
(``recal_pool``: ``horizon``, ``pooled`` or ``none``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from pricing.backtest.tasks import forecast_row
from pricing.series import duration

SUFFIX = "+conformal"
MIN_SCORES = 8
"""Past scores needed before a recalibration is fitted (below: the model is left as it is)."""


PRIOR = 10.0
"""Weight, in past scores, of the model's own standardised distribution in the mixture."""


@dataclass(frozen=True)
class Recalibration:
    """Past standardised errors ``z`` (from ``pool``) that reshape a forecast ensemble."""

    z: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    pool: str = "none"

    @property
    def n(self) -> int:
        return int(self.z.size)

    def apply(self, ensemble: NDArray[np.floating]) -> NDArray[np.float64]:
        """The recalibrated ensemble m + s v, v from the mixture of the model's u and the past z."""
        x = np.asarray(ensemble, dtype=float)
        centre, spread = float(np.median(x)), float(np.std(x))
        if self.n == 0 or spread <= 0.0:
            return x
        u = np.sort((x - centre) / spread)
        points = np.concatenate([u, self.z])
        weights = np.concatenate([np.full(u.size, PRIOR / u.size), np.ones(self.n)])
        order = np.argsort(points, kind="stable")
        points, cumulative = points[order], np.cumsum(weights[order])
        midpoints = (cumulative - 0.5 * weights[order]) / cumulative[-1]
        levels = (np.arange(x.size) + 0.5) / x.size
        return centre + spread * np.interp(levels, midpoints, points)


@dataclass(frozen=True)
class Score:
    """A past forecast's standardised error, its horizon and when it became known."""

    horizon: str
    known_at: pd.Timestamp  # when its delivery window ended
    z: float


def standardised_error(ensemble: NDArray[np.floating], realised: float) -> float:
    """(realised - median) / standard deviation of the ensemble (NaN when undefined)."""
    x = np.asarray(ensemble, dtype=float)
    spread = float(np.std(x))
    if not (np.isfinite(realised) and spread > 0.0):
        return float("nan")
    return (realised - float(np.median(x))) / spread


def recalibration_at(
    origin: pd.Timestamp, horizon: str, scores: Sequence[Score], min_scores: int = MIN_SCORES
) -> Recalibration:
    """The recalibration of a forecast made at ``origin`` from the scores known by then."""
    known = [s for s in scores if s.known_at <= origin]
    same = [s for s in known if s.horizon == horizon]
    chosen, pool = (same, "horizon") if len(same) >= min_scores else (known, "pooled")
    if len(chosen) < min_scores:
        return Recalibration()
    return Recalibration(np.array([s.z for s in chosen]), pool)


def _groups(
    rows: Sequence[dict], ensembles: Sequence[NDArray[np.floating] | None]
) -> dict[tuple[str, str], list[int]]:
    """Indices of the rows that have an ensemble, by (model, window): each group is recalibrated on
    its own past."""
    by_group: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        if ensembles[i] is not None:
            by_group.setdefault((row["model"], row["window"]), []).append(i)
    return by_group


def _known_at(row: dict, window: str) -> pd.Timestamp:
    """When a forecast row's outcome is known: its origin plus horizon plus averaging window."""
    return row["origin"] + duration(row["horizon"]) + duration(window)


def conformal_rows(
    rows: Sequence[dict], ensembles: Sequence[NDArray[np.floating] | None], min_scores: int = MIN_SCORES
) -> list[dict]:
    """Recalibrated copies (model name + ``SUFFIX``) of every forecast row that has an ensemble."""
    out = []
    for (model, window), indices in _groups(rows, ensembles).items():
        scores = []
        for i in indices:
            row = rows[i]
            z = standardised_error(ensembles[i], row["realised"])
            if np.isfinite(z):
                scores.append(Score(row["horizon"], _known_at(row, window), z))
        for i in indices:
            row = rows[i]
            recal = recalibration_at(row["origin"], row["horizon"], scores, min_scores)
            new = {**row, "model": model + SUFFIX, "recal_n": recal.n, "recal_pool": recal.pool}
            new.update(forecast_row(recal.apply(ensembles[i]), row["forward"], row["realised"]))
            out.append(new)
    return out


CQR_SUFFIX = "+cqr"
LEVELS = (0.5, 0.8, 0.9, 0.95)
"""Central interval levels the interval recalibration targets (those the backtest's coverage reports)."""


def interval_scores(ensemble: NDArray[np.floating], realised: float) -> NDArray[np.float64]:
    """Conformity score of ``realised`` for each central interval of :data:`LEVELS`: how far outside
    (positive) or inside (negative) the interval it fell, in units of the ensemble's standard deviation
    (NaN when undefined)."""
    x = np.asarray(ensemble, dtype=float)
    spread = float(np.std(x))
    if not (np.isfinite(realised) and spread > 0.0):
        return np.full(len(LEVELS), np.nan)
    low = np.quantile(x, [(1 - c) / 2 for c in LEVELS])
    high = np.quantile(x, [(1 + c) / 2 for c in LEVELS])
    return np.maximum(low - realised, realised - high) / spread


@dataclass(frozen=True)
class Widening:
    """Per-level widenings (in ensemble standard deviations) from past conformity scores."""

    q: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    n: int = 0
    pool: str = "none"

    def apply(self, ensemble: NDArray[np.floating]) -> NDArray[np.float64]:
        """The ensemble with its quantile function moved out (or in) by q_c standard deviations at
        each level's interval ends, linearly in between, the median fixed and the tails beyond the
        95% interval moved with it."""
        x = np.sort(np.asarray(ensemble, dtype=float))
        spread = float(np.std(x))
        if self.n == 0 or spread <= 0.0:
            return x
        return move_intervals(x, spread * self.q)


def move_intervals(ensemble: NDArray[np.floating], moves: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ensemble with the ends of each central interval of :data:`LEVELS` moved out by ``moves``
    (price units, one per level; negative moves in), the median fixed, the quantile function moved
    linearly in between and the tails beyond the 95% interval moved with it."""
    x = np.sort(np.asarray(ensemble, dtype=float))
    levels = (np.arange(x.size) + 0.5) / x.size
    knots = np.concatenate([[(1 - c) / 2 for c in LEVELS[::-1]], [0.5], [(1 + c) / 2 for c in LEVELS]])
    shifts = np.concatenate([-moves[::-1], [0.0], moves])
    return np.sort(x + np.interp(levels, knots, shifts))


def widening_at(origin: pd.Timestamp, horizon: str, scores: Sequence[tuple[str, pd.Timestamp, NDArray]],
                min_scores: int = MIN_SCORES) -> Widening:  # fmt: skip
    """Split-conformal widening for a forecast made at ``origin``: for each level c, the
    ceil((n + 1) c)-th smallest of the n past scores known by then (the largest when that exceeds n),
    from the same horizon when there are ``min_scores`` of them, else pooled."""
    known = [s for s in scores if s[1] <= origin]
    same = [s for s in known if s[0] == horizon]
    chosen, pool = (same, "horizon") if len(same) >= min_scores else (known, "pooled")
    if len(chosen) < min_scores:
        return Widening()
    table = np.sort(np.array([s[2] for s in chosen]), axis=0)
    n = table.shape[0]
    ranks = [min(int(np.ceil((n + 1) * c)), n) - 1 for c in LEVELS]
    return Widening(np.array([table[r, i] for i, r in enumerate(ranks)]), n, pool)


def interval_rows(
    rows: Sequence[dict], ensembles: Sequence[NDArray[np.floating] | None], min_scores: int = MIN_SCORES
) -> list[dict]:
    """Interval-recalibrated copies (model name + ``CQR_SUFFIX``) of every forecast row with an ensemble:
    conformalised intervals in the manner of conformalised quantile regression (Romano, Patterson and
    Candès, 2019), each level widened by the quantile of how far past realised averages fell outside
    that level's interval, scaled by the current ensemble's spread; only forecasts whose window had
    ended by the origin enter."""
    out = []
    for (model, window), indices in _groups(rows, ensembles).items():
        scores = []
        for i in indices:
            row = rows[i]
            score = interval_scores(ensembles[i], row["realised"])
            if np.all(np.isfinite(score)):
                scores.append((row["horizon"], _known_at(row, window), score))
        for i in indices:
            row = rows[i]
            widen = widening_at(row["origin"], row["horizon"], scores, min_scores)
            new = {**row, "model": model + CQR_SUFFIX, "recal_n": widen.n, "recal_pool": widen.pool}
            new.update(forecast_row(widen.apply(ensembles[i]), row["forward"], row["realised"]))
            out.append(new)
    return out
