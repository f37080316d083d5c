"""Marks and scan inputs for the clearing house: the mark of every margined instrument and the
product volatilities margins use (after the stressed-period weight).

A position is *margined* when it is a cash-settled forward or an option (European or Asian); physical
forwards are paid in full and hold no margin. The marks are the market model's (:mod:`market.marks`);
the margin volatility is ``pricing.risk.procyclicality.margin_vol`` of today's estimate and the
highest rolling estimate over the index history (``STRESS_LOOKBACK`` fixings).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import sqlalchemy as sa

from market import index, marks
from market.errors import NoMarkError
from market.instruments import Instrument
from pricing.risk.book import Exposure
from pricing.risk.procyclicality import margin_vol, rolling_vols

STRESS_LOOKBACK = 5000
_US_PER_YEAR = 365 * 86_400 * 1_000_000


@dataclass(frozen=True)
class Mark:
    """An instrument's mark: the window forward and the instrument's value, micro-dollars per GPU-hour."""

    symbol: str
    forward_micros: int
    value_micros: int


@dataclass(frozen=True)
class ProductVol:
    """A product's volatility today, its stressed-period level and the blend margins use."""

    now: float
    stress: float
    margin: float


def mark(connection: sa.Connection, inst: Instrument, now_us: int) -> Mark | None:
    """The instrument's mark, or None while its product has no fixings."""
    try:
        _, result = marks.price(connection, inst, now_us)
    except NoMarkError:
        return None
    return Mark(inst.symbol, round(result["forward"] * 1e6), round(result["value"] * 1e6))


def product_vol(connection: sa.Connection, product: str, now_us: int) -> ProductVol | None:
    """Today's volatility (the marks' estimator), the stressed level and the margin blend."""
    try:
        now = marks.volatility(connection, product, now_us)
    except NoMarkError:
        return None
    fixings = index.history(connection, product, now_us, STRESS_LOOKBACK)
    stress = now
    if len(fixings) > marks.MIN_FIXINGS:
        returns, steps = [], []
        for (t0, p0), (t1, p1) in itertools.pairwise(fixings):
            if t1 > t0:
                returns.append(math.log(p1 / p0))
                steps.append((t1 - t0) / _US_PER_YEAR)
        window = min(marks.VOL_WINDOW, len(returns))
        mean_step = sum(steps) / len(steps)
        rolled = rolling_vols(returns, mean_step, window)
        if len(rolled):
            stress = min(max(float(rolled.max()), 0.05), 3.0)
    return ProductVol(now, stress, margin_vol(now, stress))


def exposure(inst: Instrument, qty: int, mark_: Mark, now_us: int) -> Exposure | None:
    """The scan's view of ``qty`` lots of ``inst``; None once its window has ended (only settlement
    is left)."""
    end = (inst.window_end_us - now_us) / _US_PER_YEAR
    if end <= 0 or qty == 0:
        return None
    start = max((inst.window_start_us - now_us) / _US_PER_YEAR, 0.0)
    units = qty * inst.lot_gpus * (inst.window_end_us - inst.window_start_us) / 3_600_000_000
    forward = mark_.forward_micros / 1e6
    if inst.is_forward:
        return Exposure("forward", units, forward, start, end)
    strike = inst.strike_ticks * inst.tick_micros / 1e6
    if inst.kind == "option":
        expiry = max((inst.expiry_us - now_us) / _US_PER_YEAR, 1e-6)
        return Exposure(inst.option_kind, units, forward, start, end, strike, expiry, inst.futures_style)
    return Exposure(f"asian_{inst.option_kind}", units, forward, start, end, strike, 0.0, inst.futures_style)
