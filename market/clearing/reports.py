"""Reads and risk reports of the clearing house.

The risk report revalues an account's margined positions per product (the exposures of
:mod:`market.clearing.valuation`) with :mod:`pricing.risk`:

- Greeks by central differences of the closed forms (delta in forward-equivalent GPU-hours, gamma,
  vega per unit of volatility);
- VaR 99% and ES 97.5% over one day: historical simulation over the product's daily index returns
  (the last fixing of each UTC day; omitted, with zero scenarios, below ``MIN_HISTORY`` days: too few
  to read a 99% quantile from) beside model Monte Carlo (20,000 draws at today's volatility);
- the named stress scenarios at the margin volatility;
- the margin breakdown of the last re-margining pass.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import sqlalchemy as sa

from market import index
from market.clearing.records import DefaultInfo, FundInfo, MarginCallInfo, MarginInfo, ProductRisk
from market.clearing.valuation import exposure, mark, product_vol
from market.instruments import Instrument
from market.ledger import CAPITAL, DEFAULT_FUND, SYSTEM
from market.tables import (
    Balance,
    Default,
    FundContribution,
    MarginCall,
    MarginRequirement,
    Position,
)
from market.tables import Instrument as InstrumentTable
from market.units import from_epoch_us
from pricing.risk.book import Book
from pricing.risk.stress import stress_all
from pricing.risk.var import historical, monte_carlo

MIN_HISTORY = 20
_DAY_US = 86_400_000_000
_calls = MarginCall.__table__
_requirements = MarginRequirement.__table__
_defaults = Default.__table__
_contributions = FundContribution.__table__
_balances = Balance.__table__
_positions = Position.__table__
_instruments = InstrumentTable.__table__


def calls(connection: sa.Connection, account_id: str | None, status: str | None) -> list[MarginCallInfo]:
    """Margin calls, newest first (one account's, or everyone's for ``None``)."""
    query = sa.select(_calls).order_by(_calls.c.id.desc())
    if account_id is not None:
        query = query.where(_calls.c.account_id == account_id)
    if status is not None:
        query = query.where(_calls.c.status == status)
    return [
        MarginCallInfo(
            r.id,
            r.account_id,
            r.status,
            r.required_micros,
            r.held_micros,
            r.amount_micros,
            from_epoch_us(r.created_us),
            from_epoch_us(r.deadline_us),
            None if r.closed_us is None else from_epoch_us(r.closed_us),
        )
        for r in connection.execute(query)
    ]


def margins(connection: sa.Connection, account_id: str) -> list[MarginInfo]:
    """The account's portfolio margin per product at the last pass."""
    rows = connection.execute(
        sa.select(_requirements)
        .where(_requirements.c.account_id == account_id)
        .order_by(_requirements.c.product)
    )
    return [
        MarginInfo(
            r.product,
            r.required_micros,
            r.scan_micros,
            r.spread_micros,
            r.option_value_micros,
            r.floor_micros,
            r.per_instrument_micros,
            r.vol_ppm / 1e6,
            from_epoch_us(r.updated_us),
        )
        for r in rows
    ]


def defaults(connection: sa.Connection) -> list[DefaultInfo]:
    """Every default, newest first."""
    return [
        DefaultInfo(
            r.id,
            r.account_id,
            r.ref,
            r.shortfall_micros,
            r.contribution_micros,
            r.capital_micros,
            r.fund_micros,
            r.assessment_micros,
            r.uncovered_micros,
            from_epoch_us(r.created_us),
        )
        for r in connection.execute(sa.select(_defaults).order_by(_defaults.c.id.desc()))
    ]


def fund(connection: sa.Connection) -> FundInfo:
    """The default fund's contributions and the exchange's capital slice."""
    buckets = dict(
        connection.execute(
            sa.select(_balances.c.bucket, _balances.c.amount).where(
                _balances.c.owner == SYSTEM, _balances.c.bucket.in_([DEFAULT_FUND, CAPITAL])
            )
        ).all()
    )
    contributions = {
        r.account_id: int(r.amount_micros)
        for r in connection.execute(sa.select(_contributions).order_by(_contributions.c.account_id))
        if r.amount_micros
    }
    return FundInfo(contributions, int(buckets.get(DEFAULT_FUND, 0)), int(buckets.get(CAPITAL, 0)))


def daily_prices(connection: sa.Connection, product: str, now_us: int) -> list[float]:
    """The last fixing of each UTC day in the index history, oldest first (USD per GPU-hour)."""
    last: dict[int, int] = {}
    for at, price in index.history(connection, product, now_us, 100_000):
        last[at // _DAY_US] = price
    return [last[day] / 1e6 for day in sorted(last)]


def risk(connection: sa.Connection, account_id: str, now_us: int) -> list[ProductRisk]:
    """The account's risk per product (see the module docstring)."""
    rows = connection.execute(
        sa.select(_positions, _instruments)
        .join(_instruments, _instruments.c.symbol == _positions.c.symbol)
        .where(
            _positions.c.account_id == account_id, _positions.c.qty != 0, _instruments.c.status != "settled"
        )
        .order_by(_positions.c.symbol)
    )
    by_product = defaultdict(list)
    for row in rows:
        inst = Instrument.of(row._mapping)  # physical forwards too: paid in full, but still price risk
        found = mark(connection, inst, now_us)
        e = None if found is None else exposure(inst, row.qty, found, now_us)
        if e is not None:
            by_product[inst.product].append(e)
    reports = []
    for product, exposures in sorted(by_product.items()):
        vol = product_vol(connection, product, now_us)
        if vol is None:
            continue
        book = Book.of(exposures)
        delta, gamma, vega = greeks(book, vol.now)
        prices = daily_prices(connection, product, now_us)
        hs = historical(book, vol.now, prices, 1) if len(prices) > MIN_HISTORY else None
        mc = monte_carlo(book, vol.now, 1.0)
        reports.append(
            ProductRisk(
                product,
                delta,
                gamma,
                vega,
                vol.now,
                None if hs is None else hs.var,
                None if hs is None else hs.es,
                0 if hs is None else hs.scenarios,
                mc.var,
                mc.es,
                {s.name: s.pnl for s in stress_all(book, vol.margin)},
            )
        )
    return reports


def greeks(book: Book, vol: float) -> tuple[float, float, float]:
    """``(delta, gamma, vega)`` of the book: dV/dF in GPU-hours (per product forward move of one USD,
    each position moving by the same relative amount), d2V/dF2, dV/dvol, by central differences."""
    h, dv = 1e-3, 1e-4
    factors = np.array([[1 - h], [1.0], [1 + h]])
    values = (book.values(factors, np.array([[vol]])) * book.units).sum(axis=1)
    # relative moves: dV/dx with F = F0 (1 + x); per unit forward move, divide by the book's mean forward
    scale = float(np.average(book.forward, weights=np.abs(book.units))) if len(book) else 1.0
    delta = (values[2] - values[0]) / (2 * h) / scale
    gamma = (values[2] - 2 * values[1] + values[0]) / h**2 / scale**2
    vols = np.array([[vol - dv], [vol + dv]])
    vega = float(np.diff((book.values(np.ones((2, 1)), vols) * book.units).sum(axis=1))[0] / (2 * dv))
    return float(delta), float(gamma), vega
