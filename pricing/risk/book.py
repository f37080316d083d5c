"""A product's positions as arrays the scan and the VaR revalue in one numpy pass.

An :class:`Exposure` is one position in the units of the pricing core: signed GPU-hours (lots x
GPU-hours per lot, long positive), the window's forward price in USD per GPU-hour at the mark, and
the window ``[start, end)`` in years from now (ACT/365F). Options carry a strike and, for European
options, an expiry. Every position of one product shares the product's price shock: that is the
offset between long and short and between overlapping windows.

Revaluation uses the pricing core's closed forms (:mod:`pricing.analytic.formulas`) under the
market's Black-76 model (driftless GBM, the spot its own forward):

- forward: its value per GPU-hour is the window forward ``F``;
- European option on the window average, expiring at ``tau`` before delivery: with zero carry every
  daily forward equals the spot at expiry, so the underlying is log-normal with variance
  ``vol^2 tau`` and Black-76 is exact;
- Asian (average-price) option over ``[a, b)``: the arithmetic average is matched to a log-normal
  with the same first two moments (Turnbull-Wakeman / Levy); for continuous averaging of a driftless
  GBM, ``E[A^2] / F^2 = 2 (e^{cb} - e^{ca} - c (b - a) e^{ca}) / (c (b - a))^2`` with
  ``c = vol^2``, so the variance of ``ln A`` is ``ln`` of that ratio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from pricing.analytic.formulas import black

Kind = Literal["forward", "call", "put", "asian_call", "asian_put"]
KINDS: tuple[Kind, ...] = ("forward", "call", "put", "asian_call", "asian_put")
DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Exposure:
    """One position of a product, in the units the pricing core values."""

    kind: Kind
    units: float
    """Signed GPU-hours: lots x GPUs per lot x hours of the window, long positive."""
    forward: float
    """The window's forward price at the mark, USD per GPU-hour (> 0)."""
    start: float
    """Window start, years from now (0 once delivery has begun)."""
    end: float
    """Window end, years from now (> start)."""
    strike: float = 0.0
    expiry: float = 0.0
    """Years to a European option's expiry."""
    futures_style: bool = False
    """An option whose value is settled daily as variation margin (no premium paid up front): its
    value is neither an asset of the holder nor a debt the writer must hold in the scan."""


@dataclass(frozen=True)
class Book:
    """A product's exposures as parallel arrays (one entry per position)."""

    kind: NDArray[np.int64]
    units: NDArray[np.float64]
    forward: NDArray[np.float64]
    start: NDArray[np.float64]
    end: NDArray[np.float64]
    strike: NDArray[np.float64]
    expiry: NDArray[np.float64]
    futures_style: NDArray[np.bool_]

    @classmethod
    def of(cls, exposures: list[Exposure] | tuple[Exposure, ...]) -> Book:
        """Stack exposures into arrays; refuses what the closed forms cannot value."""
        for e in exposures:
            if e.kind not in KINDS:
                raise ValueError(f"unknown exposure kind {e.kind!r}")
            if not (e.forward > 0 and np.isfinite(e.forward) and np.isfinite(e.units)):
                raise ValueError("an exposure needs a positive finite forward and finite units")
            if not 0 <= e.start < e.end:
                raise ValueError("an exposure's window needs 0 <= start < end")
        return cls(
            kind=np.array([KINDS.index(e.kind) for e in exposures], dtype=np.int64),
            units=np.array([e.units for e in exposures], dtype=float),
            forward=np.array([e.forward for e in exposures], dtype=float),
            start=np.array([e.start for e in exposures], dtype=float),
            end=np.array([e.end for e in exposures], dtype=float),
            strike=np.array([e.strike for e in exposures], dtype=float),
            expiry=np.array([e.expiry for e in exposures], dtype=float),
            futures_style=np.array([e.futures_style for e in exposures], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.units)

    def values(self, price_factor: NDArray[np.float64], vol: NDArray[np.float64]) -> NDArray[np.float64]:
        """Value per GPU-hour of every position under each scenario.

        ``price_factor`` and ``vol`` have shape ``(scenarios, 1)`` or ``(scenarios, positions)``; the
        result has shape ``(scenarios, positions)``.
        """
        f = self.forward * price_factor
        vol = np.broadcast_to(vol, f.shape)
        out = f.copy()
        is_option = self.kind != 0
        if is_option.any():
            european_var = vol**2 * self.expiry
            asian_var = asian_log_variance(vol, self.start, self.end)
            asian = self.kind >= 3
            variance = np.where(asian, asian_var, european_var)
            call = (self.kind == 1) | (self.kind == 3)
            calls = black("call", f, self.strike, variance)
            puts = black("put", f, self.strike, variance)
            out = np.where(is_option, np.where(call, calls, puts), out)
        return out

    def deltas(self, vol: float) -> NDArray[np.float64]:
        """dV/dF per GPU-hour of each position at the mark (1 for forwards), by central difference."""
        bump = 1e-4
        up = self.values(np.array([[1 + bump]]), np.array([[vol]]))[0]
        down = self.values(np.array([[1 - bump]]), np.array([[vol]]))[0]
        return (up - down) / (2 * bump * self.forward)


def asian_log_variance(
    vol: NDArray[np.float64] | float, start: NDArray[np.float64], end: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Variance of ln A for the moment-matched continuous average of a driftless GBM over [start, end)."""
    c = np.asarray(vol, dtype=float) ** 2
    a, b = np.broadcast_arrays(start, end)
    span = b - a
    x = c * span
    safe_x = np.where(x > 1e-8, x, 1.0)
    # E[A^2]/F^2 = e^{ca} * 2 (e^{x} - 1 - x) / x^2, with x = c (b - a); series for small x.
    ratio = np.where(x > 1e-8, 2 * (np.expm1(safe_x) - safe_x) / safe_x**2, 1 + x / 3)
    return c * a + np.log(ratio)
