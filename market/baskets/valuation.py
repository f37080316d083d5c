"""A basket fund's value: its equity at the strip's marks, the NAV per unit, the unit's look-through
margin, and the NAV history.

**Marks.** Each leg is valued at the clearing house's mark (:func:`market.clearing.valuation.mark`, the
product model's window forward) rounded half up to the leg's tick, so the strip's positions can be
moved at exactly that price (:mod:`market.baskets.flows`) and a position moved at the mark adds
nothing to any account's value.

**Equity** (micro-dollars) is everything the fund account owns: its cash in every bucket (available,
reserved, margin, collateral), its default-fund contribution, and for each leg not yet settled the
variation margin still due at the mark, ``qty x mark x multiplier - cost - variation received - fees
due`` (a settled leg's value is already cash). **NAV** per unit is :func:`market.basket.nav`: equity
over units outstanding, rounded *down* (a holder is never paid more than the fund has; the residue,
less than one micro-dollar per unit, stays in the fund for the remaining holders). With no units
outstanding the NAV is one unit's strip notional at the marks, so a fund is born fully collateralised.

**Margin.** A unit is paid in full and never sold short, so its holders hold no margin; the strip
behind it sits in the fund account, whose portfolio margin the clearing house scans at every pass
like any member's. The unit's initial margin published here is that same scan
(:func:`market.clearing.portfolio.requirement`) of one unit's look-through strip, product by product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import basket
from market.baskets import funds
from market.baskets.records import NavInfo
from market.baskets.tables import Basket, BasketNav
from market.clearing import portfolio
from market.clearing.valuation import Mark, mark, product_vol
from market.errors import NoMarkError
from market.ledger import USER_BUCKETS
from market.store import UnitOfWork, insert_ignore
from market.tables import FundContribution
from market.trading import Trading
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_navs = BasketNav.__table__
_baskets = Basket.__table__
_contributions = FundContribution.__table__


@dataclass(frozen=True)
class Valuation:
    """A fund valued at its marks (micro-dollars; ``marks`` in ticks of each leg, settled legs left out)."""

    nav: int
    equity: int
    units: int
    strip: int
    mark_ticks: dict[str, int]


def mark_ticks(uow: UnitOfWork, trading: Trading, legs: list[sa.Row]) -> dict[str, int]:
    """Each unsettled leg's mark in its ticks, rounded half up; NoMarkError when one has none."""
    out = {}
    for leg in legs:
        inst = trading.instrument(leg.symbol)
        if inst.status == "settled":
            continue
        found = mark(uow.connection, inst, uow.now_us)
        if found is None:
            raise NoMarkError(f"{leg.symbol} has no mark yet: post index fixings", field="symbol")
        tick = inst.tick_micros
        out[leg.symbol] = (2 * found.forward_micros + tick) // (2 * tick)
    return out


def value(uow: UnitOfWork, trading: Trading, row: sa.Row, legs: list[sa.Row]) -> Valuation:
    """The fund's equity, units and NAV at ``uow``'s instant (see the module docstring)."""
    ticks = mark_ticks(uow, trading, legs)
    fund = row.fund_id
    cash = sum(uow.ledger.balance(fund, bucket) for bucket in USER_BUCKETS)
    cash += (
        uow.connection.execute(
            sa.select(_contributions.c.amount_micros).where(_contributions.c.account_id == fund)
        ).scalar()
        or 0
    )
    due, strip = 0, 0
    for leg in legs:
        if leg.symbol not in ticks:
            continue
        inst, position = trading.instrument(leg.symbol), uow.position(fund, leg.symbol)
        worth = ticks[leg.symbol] * inst.multiplier
        strip += leg.lots * worth
        due += position["qty"] * worth - position["cost_micros"] - position["variation_micros"]
        due -= position["fees_due_micros"]
    units = funds.outstanding(uow, row)
    equity = cash + due
    nav = basket.nav(equity, units) if units > 0 else strip
    return Valuation(nav, equity, units, strip, ticks)


def unit_margin(uow: UnitOfWork, trading: Trading, legs: list[sa.Row], row_fund: str) -> int:
    """The clearing house's scan of one unit's look-through strip (0 while a product has no volatility)."""
    by_product: dict[str, list[tuple[dict, dict]]] = {}
    marks: dict[str, Mark] = {}
    for leg in legs:
        inst = trading.instrument(leg.symbol)
        found = mark(uow.connection, inst, uow.now_us)
        if found is None or inst.status == "settled":
            continue
        marks[leg.symbol] = found
        by_product.setdefault(inst.product, []).append((inst, {"qty": leg.lots}))
    total = 0
    for product, positions in sorted(by_product.items()):
        vol = product_vol(uow.connection, product, uow.now_us)
        if vol is not None:
            total += portfolio.requirement(row_fund, product, positions, marks, vol, uow.now_us).required
    return total


def record(uow: UnitOfWork, basket_id: int, v: Valuation, margin: int) -> None:
    """Store a NAV in the fund's history (one per instant: a second one at the same instant is the same)."""
    row = {
        "basket_id": basket_id,
        "at_us": uow.now_us,
        "nav_micros": v.nav,
        "equity_micros": v.equity,
        "units": v.units,
        "strip_micros": v.strip,
        "margin_micros": margin,
    }
    insert_ignore(uow.connection, _navs, [row])


def nav_info(uow: UnitOfWork, trading: Trading, row: sa.Row, legs: list[sa.Row], *, publish: bool) -> NavInfo:
    """The fund's NAV now, stored in its history when ``publish``."""
    v = value(uow, trading, row, legs)
    margin = unit_margin(uow, trading, legs, row.fund_id)
    if publish:
        record(uow, row.id, v, margin)
    marks = tuple(
        (symbol, ticks * trading.instrument(symbol).tick_micros)
        for symbol, ticks in sorted(v.mark_ticks.items())
    )
    return NavInfo(row.symbol, from_epoch_us(uow.now_us), v.nav, v.equity, v.units, v.strip, margin, marks)


def nav(house: House, symbol: str) -> NavInfo:
    """The fund's NAV now (not stored)."""
    with house.read() as connection:
        uow = UnitOfWork(connection, house.now_us())
        row = funds.fund_row(connection, symbol)
        return nav_info(uow, house.books(), row, funds.legs_of(connection, row.id), publish=False)


def publish_navs(house: House) -> list[NavInfo]:
    """Compute and store every active fund's NAV now (funds without marks yet are left out; on a
    shard, only the funds whose unit and legs it holds)."""
    out = []
    with house.transaction() as uow:
        trading = house.books()
        rows = uow.connection.execute(sa.select(_baskets).where(_baskets.c.status == "active")).all()
        for row in sorted(rows, key=lambda r: r.symbol):
            legs = funds.legs_of(uow.connection, row.id)
            if not funds.held_here(trading, row, legs):  # another shard's fund (or one across shards)
                continue
            try:
                out.append(nav_info(uow, trading, row, legs, publish=True))
            except NoMarkError:
                continue
    return out


def nav_history(house: House, symbol: str, limit: int = 100, before: int | None = None) -> list[NavInfo]:
    """Published NAVs, newest first (``before``: an epoch-microsecond instant to page from)."""
    with house.read() as connection:
        row = funds.fund_row(connection, symbol)
        query = sa.select(_navs).where(_navs.c.basket_id == row.id)
        if before is not None:
            query = query.where(_navs.c.at_us < before)
        rows = connection.execute(query.order_by(_navs.c.at_us.desc()).limit(limit)).all()
    return [
        NavInfo(symbol, from_epoch_us(r.at_us), r.nav_micros, r.equity_micros, r.units, r.strip_micros,
                r.margin_micros, ())
        for r in rows
    ]  # fmt: skip
