"""Portfolio initial margin per account and product, and holding it.

Each account's margined positions in one product become a :class:`pricing.risk.book.Book` and are
scanned together (:func:`pricing.risk.scan.scan`) at the product's margin volatility: the
requirement is the scan margin, rounded up to the micro-dollar. The account's ``margin`` bucket is
then brought to the sum over its products -- released to ``available`` when it holds more, topped up
from ``available`` as far as the cash goes when it holds less (a margin call covers the rest) -- and
what it holds is shared among its positions in proportion to each position's per-instrument margin
(:func:`market.margin.required`), so the positions' ``margin_micros`` always sum to the bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from market import margin
from market.clearing.valuation import Mark, ProductVol, exposure
from market.instruments import Instrument
from market.ledger import AVAILABLE, MARGIN
from market.store import UnitOfWork
from market.tables import MarginRequirement
from pricing.risk.book import Book
from pricing.risk.scan import ScanParameters, ScanResult, scan

PARAMETERS = ScanParameters()
_requirements = MarginRequirement.__table__


@dataclass(frozen=True)
class Requirement:
    """One account's portfolio margin in one product, micro-dollars, with the scan's parts."""

    account_id: str
    product: str
    required: int
    scan: int
    spread: int
    option_value: int
    floor: int
    per_instrument: int
    vol: float


def _micros(usd: float) -> int:
    return math.ceil(round(usd * 1e6, 3))


def lot_margin(inst: Instrument, mark: Mark, vol: float, now_us: int) -> int:
    """The margin one lot of ``inst`` holds before any pass nets it with the account's other positions:
    this scan of a one-lot book, at the product's margin volatility (the worse of long and short: for
    futures-style options too, whose holder can lose the mark value). It is what orders hold per lot and the
    per-instrument sum the portfolio margin is compared with, so pre-trade checks and the clearing
    house apply one formula. 0 once the window has ended."""
    books = [Book.of([e]) for side in (1, -1) if (e := exposure(inst, side, mark, now_us)) is not None]
    return max((_micros(scan(book, vol, PARAMETERS).margin) for book in books), default=0)


def requirement(
    account_id: str,
    product: str,
    positions: list[tuple[Instrument, dict]],
    marks: dict[str, Mark],
    vol: ProductVol,
    now_us: int,
) -> Requirement:
    """The portfolio margin of ``positions`` (``(instrument, position)`` pairs of one product)."""
    exposures = []
    per_instrument = 0
    for inst, position in positions:
        per_instrument += margin.required(inst, position["qty"])
        mark = marks.get(inst.symbol)
        found = None if mark is None else exposure(inst, position["qty"], mark, now_us)
        if found is not None:
            exposures.append(found)
    result: ScanResult = scan(Book.of(exposures), vol.margin, PARAMETERS)
    return Requirement(
        account_id,
        product,
        _micros(result.margin),
        _micros(result.scan_risk),
        _micros(result.spread_charge),
        round(result.option_value * 1e6),
        _micros(result.floor),
        per_instrument,
        vol.margin,
    )


def hold(uow: UnitOfWork, account_id: str, required: int, positions: list[tuple[Instrument, dict]]) -> int:
    """Bring the account's margin bucket to ``required`` as far as its cash allows and share what it
    holds among ``positions`` (every position of the account holding or owing margin); returns the
    amount held."""
    ledger = uow.ledger
    held = ledger.balance(account_id, MARGIN)
    delta = required - held
    if delta > 0:
        delta = min(delta, ledger.balance(account_id, AVAILABLE))
    ledger.move((account_id, AVAILABLE), (account_id, MARGIN), delta)
    ledger.post("margin", account_id=account_id)
    held += delta
    share(held, positions)
    return held


def share(held: int, positions: list[tuple[Instrument, dict]]) -> None:
    """Split ``held`` among positions by their per-instrument margins (largest remainder, in order)."""
    weights = [margin.required(inst, p["qty"]) for inst, p in positions]
    total = sum(weights)
    if not positions:
        return
    if total == 0:
        weights, total = [1] * len(positions), len(positions)
    parts = [held * w // total for w in weights]
    left = held - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(held * weights[i] % total), i))
    for i in order[:left]:
        parts[i] += 1
    for (_, position), part in zip(positions, parts, strict=True):
        position["margin_micros"] = part


def store(connection: sa.Connection, requirements: list[Requirement], now_us: int) -> None:
    """Replace the stored requirements of the accounts in ``requirements``."""
    accounts = sorted({r.account_id for r in requirements})
    if accounts:
        connection.execute(_requirements.delete().where(_requirements.c.account_id.in_(accounts)))
        connection.execute(
            _requirements.insert(),
            [
                {
                    "account_id": r.account_id,
                    "product": r.product,
                    "required_micros": r.required,
                    "scan_micros": r.scan,
                    "spread_micros": r.spread,
                    "option_value_micros": r.option_value,
                    "floor_micros": r.floor,
                    "per_instrument_micros": r.per_instrument,
                    "vol_ppm": round(r.vol * 1e6),
                    "updated_us": now_us,
                }
                for r in requirements
            ],
        )
