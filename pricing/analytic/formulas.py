"""Undiscounted option values on a normal or log-normal underlying (Black-76 and Bachelier).

Every closed form in flopex reduces to one of these once the law of the underlying at expiry is
known: its mean and its total variance (of the log for Black, of the level for Bachelier).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from pricing.instruments import OptionKind


def _sign(kind: OptionKind) -> float:
    return 1.0 if kind == "call" else -1.0


def black(
    kind: OptionKind, forward: ArrayLike, strike: ArrayLike, variance: ArrayLike
) -> NDArray[np.float64]:
    """E[(F e^(sqrt(v) Z - v/2) - K)^+] (call) or E[(K - ...)^+] (put), F > 0, v >= 0.

    A non-positive strike makes the call a forward and the put worthless; zero variance gives the
    intrinsic value.
    """
    f, k, v = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (forward, strike, variance)))
    w = _sign(kind)
    intrinsic = np.maximum(w * (f - k), 0.0)
    live = (v > 0.0) & (k > 0.0)
    sd = np.sqrt(np.where(live, v, 1.0))
    log_moneyness = np.log(np.where(live, f, 1.0) / np.where(live, k, 1.0))
    d1 = log_moneyness / sd + 0.5 * sd
    d2 = d1 - sd
    value = w * (f * ndtr(w * d1) - k * ndtr(w * d2))
    return np.where(live, np.maximum(value, 0.0), intrinsic)


def bachelier(
    kind: OptionKind, mean: ArrayLike, strike: ArrayLike, variance: ArrayLike
) -> NDArray[np.float64]:
    """E[(X - K)^+] (call) or E[(K - X)^+] (put) for X ~ N(mean, variance)."""
    m, k, v = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (mean, strike, variance)))
    w = _sign(kind)
    sd = np.sqrt(v)
    live = sd > 0.0
    d = w * (m - k) / np.where(live, sd, 1.0)
    value = w * (m - k) * ndtr(d) + sd * np.exp(-0.5 * d * d) / np.sqrt(2.0 * np.pi)
    return np.where(live, value, np.maximum(w * (m - k), 0.0))
