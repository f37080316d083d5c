"""Portfolio initial margin: a SPAN-like scenario scan over price and volatility moves.

For one account's positions in one product (a :class:`~pricing.risk.book.Book`) and the product's
volatility ``vol``:

1. **Price scan range** ``L = max(z_q vol sqrt(h / 365), ln(1 + floor_move))``: the ``q`` quantile of
   an ``h``-day log move (q = 99%, h = 2 days, as the per-instrument margin), never less than a
   ``floor_move`` (5%) move.
2. **Scenarios** (the 16 of SPAN): log price moves ``0, +-1/3, +-2/3, +-1`` x ``L``, each with the
   volatility up and down by ``vol_move`` (25%, relative), plus two extreme moves ``+-2L`` at
   unchanged volatility of which only ``extreme_cover`` (35%) counts. Every position is revalued with
   the pricing core's closed forms under each scenario; all positions of the product take the same
   move, so longs offset shorts and overlapping windows offset on the days they share.
3. **Scan risk**: the largest loss over the scenarios (zero if every scenario gains).
4. **Calendar spread charge**: a common move over-credits hedges between windows that do not share
   days (a long January against a short February is not riskless). The dollar delta of each
   position is spread evenly over the days of its window and netted day by day (so a long month and
   a short week inside it offset exactly on the week's days); what still offsets across different
   days, ``min(sum of long days, sum of short days)``, is charged ``spread_fraction x (e^L - 1)``.
5. **Net option value** of the premium-style options (paid in full at the trade): the value of the
   long ones less the value of the written ones. A long option's loss can never exceed what it is
   worth, and a writer must hold the premium it would have to pay to close, so the margin nets it
   out. Futures-style options (``Exposure.futures_style``: their value is settled daily as variation
   margin, no premium paid) count for nothing here: the holder has paid nothing to net against, the
   writer has already paid the value in variation, so only their scan risk is margined.
6. **Floor**: ``floor_fraction x (e^L - 1)`` of the gross day-netted dollar delta of the forwards
   and written options (an unhedged residual never margins below a fraction of its outright move)
   plus a short option minimum of ``short_option_minimum x F`` per written GPU-hour (deep
   out-of-the-money writes still hold something).

Margin = ``max(scan risk + spread charge - net option value, floor)``.

Anti-procyclicality is not in this function: the caller passes the volatility after the
stressed-period weighting of :mod:`pricing.risk.procyclicality`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from pricing.risk.book import DAYS_PER_YEAR, Book


@dataclass(frozen=True)
class ScanParameters:
    """The scan's settings (defaults documented in docs/clearing.md)."""

    confidence: float = 0.99
    horizon_days: float = 2.0
    floor_move: float = 0.05
    vol_move: float = 0.25
    extreme_multiple: float = 2.0
    extreme_cover: float = 0.35
    spread_fraction: float = 0.3
    floor_fraction: float = 0.25
    short_option_minimum: float = 0.005

    def scan_range(self, vol: float) -> float:
        """The price scan range as a log move."""
        quantile = float(ndtri(self.confidence)) * vol * math.sqrt(self.horizon_days / DAYS_PER_YEAR)
        return max(quantile, math.log1p(self.floor_move))


@dataclass(frozen=True)
class ScanResult:
    """One product's margin and its parts, in USD."""

    scan_risk: float
    spread_charge: float
    option_value: float
    """Net option value: long options' value less written options' value."""
    floor: float
    margin: float
    worst_scenario: int
    scan_range: float
    """The price scan range as a log move."""


PRICE_STEPS = (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0)


def scenarios(params: ScanParameters) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``(price steps in units of L, relative vol moves, cover weights)``, 16 scenarios."""
    steps, vols, cover = [], [], []
    for step in PRICE_STEPS:
        for sign in (1.0, -1.0):
            steps.append(step)
            vols.append(sign * params.vol_move)
            cover.append(1.0)
    for sign in (1.0, -1.0):
        steps.append(sign * params.extreme_multiple)
        vols.append(0.0)
        cover.append(params.extreme_cover)
    return np.array(steps), np.array(vols), np.array(cover)


def scenario_pnl(book: Book, vol: float, params: ScanParameters) -> NDArray[np.float64]:
    """Profit of the whole book (USD) under each of the 16 scenarios, before cover weights."""
    steps, vol_moves, _ = scenarios(params)
    span = params.scan_range(vol)
    factors = np.exp(steps * span)[:, None]
    vols = (vol * (1 + vol_moves))[:, None]
    base = book.values(np.ones((1, 1)), np.array([[vol]]))
    return ((book.values(factors, vols) - base) * book.units).sum(axis=1)


def day_exposure(book: Book, vol: float) -> NDArray[np.float64]:
    """Dollar delta per day: each position's delta spread evenly over its window's days, netted."""
    if len(book) == 0:
        return np.zeros(0)
    first = np.floor(book.start * DAYS_PER_YEAR + 1e-9).astype(np.int64)
    last = np.maximum(np.ceil(book.end * DAYS_PER_YEAR - 1e-9).astype(np.int64), first + 1)
    dollar_delta = book.deltas(vol) * book.forward * book.units
    per_day = dollar_delta / (last - first)
    diff = np.zeros(int(last.max()) + 1)
    np.add.at(diff, first, per_day)
    np.add.at(diff, last, -per_day)
    return np.cumsum(diff)[:-1]


def scan(book: Book, vol: float, params: ScanParameters | None = None) -> ScanResult:
    """The portfolio margin of one account's positions in one product (see the module docstring)."""
    params = params or ScanParameters()
    if not (vol > 0 and math.isfinite(vol)):
        raise ValueError("the scan needs a positive finite volatility")
    span = params.scan_range(vol)
    if len(book) == 0:
        return ScanResult(0.0, 0.0, 0.0, 0.0, 0.0, 0, span)
    _, _, cover = scenarios(params)
    losses = -scenario_pnl(book, vol, params) * cover
    worst = int(np.argmax(losses))
    scan_risk = max(float(losses[worst]), 0.0) + 0.0  # + 0.0: no negative zero in reports
    days = day_exposure(book, vol)
    matched = min(float(days[days > 0].sum()), float(-days[days < 0].sum()))
    move = math.expm1(span)
    spread = params.spread_fraction * move * max(matched, 0.0) + 0.0
    is_option = book.kind != 0
    value = book.values(np.ones((1, 1)), np.array([[vol]]))[0] * book.units
    option_value = float(value[is_option & ~book.futures_style].sum()) + 0.0
    charged = _subset(book, ~is_option | (book.units < 0))
    written = np.where(is_option, np.maximum(-book.units, 0.0), 0.0)
    floor = params.floor_fraction * move * float(np.abs(day_exposure(charged, vol)).sum())
    floor += params.short_option_minimum * float((written * book.forward).sum())
    margin = max(scan_risk + spread - option_value, floor, 0.0)
    return ScanResult(scan_risk, spread, option_value, floor, margin, worst, span)


def standalone_sum(book: Book, vol: float, params: ScanParameters | None = None) -> float:
    """The sum of each position's scan margin on its own (no offsets): the per-instrument way."""
    params = params or ScanParameters()
    return sum(scan(_subset(book, slice(i, i + 1)), vol, params).margin for i in range(len(book)))


def _subset(book: Book, rows: slice | np.ndarray) -> Book:
    """The positions of ``book`` selected by ``rows``."""
    return Book(*(getattr(book, f)[rows] for f in Book.__dataclass_fields__))
