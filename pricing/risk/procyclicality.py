"""Anti-procyclicality: a stressed-period weight on the volatility that sets margins.

Margins that follow the current volatility alone leap when a crisis starts, forcing sales exactly
when prices are falling -- the spiral a clearing house must not feed. Of the three standard tools (a
buffer released in stress, a floor from a long look-back, a weight on stressed observations) flopex
uses the **stressed-period weight** (as EMIR RTS 153/2013 art. 28(1)(b) allows):

    vol_margin = sqrt((1 - w) vol_now^2 + w vol_stress^2),   w = 25%

where ``vol_stress`` is the highest rolling volatility seen over the look-back. In calm markets
margins are higher than the current volatility alone would set (the cushion is collected in good
times), and when a crisis arrives ``vol_now`` rises towards a level already partly priced in, so the
margin rises by less. Chosen over a buffer because it needs no discretionary "release" decision and
depends only on the index history, so every re-margining pass is reproducible from the data.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

STRESS_WEIGHT = 0.25


def rms_vol(log_returns: ArrayLike, step_years: ArrayLike) -> float:
    """Annualised volatility ``sqrt(mean(r_i^2 / dt_i))`` (the marks' estimator)."""
    r = np.asarray(log_returns, dtype=float)
    dt = np.broadcast_to(np.asarray(step_years, dtype=float), r.shape)
    if r.size == 0:
        raise ValueError("no returns to estimate a volatility from")
    return math.sqrt(float(np.mean(r**2 / dt)))


def rolling_vols(log_returns: ArrayLike, step_years: float, window: int) -> NDArray[np.float64]:
    """The RMS volatility of every trailing ``window`` of returns (one value per full window)."""
    r2 = np.asarray(log_returns, dtype=float) ** 2 / step_years
    if len(r2) < window:
        return np.zeros(0)
    sums = np.convolve(r2, np.ones(window), mode="valid")
    return np.sqrt(sums / window)


def margin_vol(vol_now: float, vol_stress: float, weight: float = STRESS_WEIGHT) -> float:
    """The volatility margins use: the stressed-period weighted blend (never below ``vol_now``'s
    share: a stress volatility below today's is today's)."""
    stress = max(vol_stress, vol_now)
    return math.sqrt((1 - weight) * vol_now**2 + weight * stress**2)


def weighted_path(vols: ArrayLike, weight: float = STRESS_WEIGHT) -> NDArray[np.float64]:
    """The margin volatility along a history of current volatilities (stress = running maximum)."""
    v = np.asarray(vols, dtype=float)
    stress = np.maximum.accumulate(v)
    return np.sqrt((1 - weight) * v**2 + weight * stress**2)


def peak_to_trough(path: ArrayLike) -> float:
    """The largest rise of a margin path over its earlier minimum, as a ratio (procyclicality)."""
    p = np.asarray(path, dtype=float)
    if p.size == 0 or not (p > 0).all():
        raise ValueError("a margin path is non-empty and positive")
    return float(np.max(p / np.minimum.accumulate(p)))
