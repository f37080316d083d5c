"""How far a backtest's coverage can be trusted: ties with atoms, independent outcomes, binomial bands.

**Ties.** Posted prices repeat exactly, so a forecast can put an atom where the realised average falls
(today's price, if nothing moved). A closed interval [q_low, q_high] that the atom fills covers such an
outcome at every level, so a calibrated forecast with an atom covers *more* than nominal by the closed
rule. The randomised PIT (Czado, Gneiting and Held, 2009) draws the outcome's PIT uniformly in
[F(y-), F(y)] and is uniform for a calibrated forecast, atoms or not; :func:`expected_coverage` is the
probability that it falls in the central interval's [(1 - c)/2, (1 + c)/2], computed exactly (no
random draw): the overlap of the two ranges over the atom's width. It equals the closed rule's 0/1
for an outcome off any atom. The backtest reports both (``coverage50`` closed, ``rcoverage50``
randomised) and judges nominal on the randomised one.

**Independent outcomes.** Forecasts from origins a few hours apart share most of their future: the
error of a forecast made at t for [t + h, t + h + L) is fixed by what happens over [t, t + h + L], so
two forecasts whose spans overlap are dependent. :func:`independent_outcomes` counts the largest set
of forecasts with disjoint spans (greedy from the first origin). With 6-hourly origins over 12 days,
that is 7 one-day outcomes and 2 seven-day outcomes per series: the coverage of 50 forecasts is
worth about that many coin flips, not 50.

**Band.** :func:`nominal_band` gives the central 95% range of a binomial(n, c) share with n the
independent outcomes (its 2.5% and 97.5% quantiles): where a calibrated forecaster's coverage lands
at least 95% of the time (the share moves in steps of 1/n, so on few outcomes more: 99.7% for 7 at
90%). A measured coverage inside ±5 points of nominal is ``within``; outside it but inside the band
``consistent`` (the data cannot tell it from nominal); outside the band ``rejects``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

TOLERANCE = 0.05
"""The coverage goal: within 5 points of nominal."""


def expected_coverage(pit_low: ArrayLike, pit_high: ArrayLike, level: float) -> np.ndarray:
    """P(randomised PIT in the central ``level`` interval) per outcome, from F(y-) and F(y)."""
    low, high = np.asarray(pit_low, dtype=float), np.asarray(pit_high, dtype=float)
    a, b = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    width = high - low
    overlap = np.clip(np.minimum(high, b) - np.maximum(low, a), 0.0, None)
    point = ((low >= a) & (low <= b)).astype(float)
    return np.where(width > 0.0, overlap / np.where(width > 0.0, width, 1.0), point)


def independent_outcomes(origins: Sequence[pd.Timestamp], span: pd.Timedelta) -> int:
    """The most forecasts with disjoint spans [origin, origin + span] (greedy from the first origin)."""
    count, free = 0, None
    for origin in sorted(pd.DatetimeIndex(origins)):
        if free is None or origin >= free:
            count, free = count + 1, origin + span
    return count


def nominal_band(n: int, level: float, confidence: float = 0.95) -> tuple[float, float]:
    """Central ``confidence`` range of the coverage share of n independent outcomes at ``level``."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1.0 - confidence) / 2.0
    return float(stats.binom.ppf(tail, n, level)) / n, float(stats.binom.ppf(1.0 - tail, n, level)) / n


def verdict(coverage: float, level: float, n: int) -> str:
    """``within`` ±5 points of nominal, else ``consistent`` with it given n independent outcomes, else
    ``rejects`` it (outside the binomial band)."""
    if not np.isfinite(coverage):
        return "none"
    if abs(coverage - level) <= TOLERANCE + 1e-12:
        return "within"
    low, high = nominal_band(n, level)
    return "consistent" if low <= coverage <= high else "rejects"


def overall(verdicts: Sequence[str]) -> str:
    """One word for all levels: ``rejects`` if any level does, ``within`` if all are, else ``consistent``."""
    if "rejects" in verdicts:
        return "rejects"
    return "within" if all(v == "within" for v in verdicts) else "consistent"
