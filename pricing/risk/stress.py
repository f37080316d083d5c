"""Named stress scenarios: what a book loses if the GPU market does something specific.

- ``new_generation``: a new GPU generation ships and rental prices of the old one jump down 40%
  (forwards x 0.6), with volatility up half as the market re-prices;
- ``scarcity_spike``: a demand shock triples prices (+200%), volatility doubles;
- ``index_outage``: the index stops publishing for ``OUTAGE_DAYS`` days, so positions cannot be
  re-margined; the loss is the book's worst covered scan loss (:func:`pricing.risk.scan.scenario_pnl`) over
  the outage plus the usual two-day close-out horizon, i.e. the exposure accrued while blind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pricing.risk.book import Book
from pricing.risk.scan import ScanParameters, scenario_pnl, scenarios

OUTAGE_DAYS = 7


@dataclass(frozen=True)
class Scenario:
    """A named move: forwards x ``price_factor``, volatility x ``vol_factor`` (or an outage)."""

    name: str
    description: str
    price_factor: float = 1.0
    vol_factor: float = 1.0
    outage_days: float = 0.0


SCENARIOS = (
    Scenario("new_generation", "a new GPU generation: prices jump -40%", price_factor=0.6, vol_factor=1.5),
    Scenario("scarcity_spike", "a scarcity spike: prices +200%", price_factor=3.0, vol_factor=2.0),
    Scenario(
        "index_outage",
        f"the index is dark for {OUTAGE_DAYS} days: the worst scan move over the outage plus close-out",
        outage_days=OUTAGE_DAYS,
    ),
)


@dataclass(frozen=True)
class StressResult:
    """A scenario's profit and loss on a book, USD (negative: a loss)."""

    name: str
    description: str
    pnl: float


def stress(book: Book, vol: float, scenario: Scenario, params: ScanParameters | None = None) -> StressResult:
    """Revalue ``book`` under ``scenario``."""
    params = params or ScanParameters()
    if len(book) == 0:
        return StressResult(scenario.name, scenario.description, 0.0)
    if scenario.outage_days:
        blind = replace(params, horizon_days=params.horizon_days + scenario.outage_days)
        _, _, cover = scenarios(blind)
        value = float(np.min(scenario_pnl(book, vol, blind) * cover))
    else:
        base = book.values(np.ones((1, 1)), np.array([[vol]]))
        moved = book.values(np.array([[scenario.price_factor]]), np.array([[vol * scenario.vol_factor]]))
        value = float(((moved - base) * book.units).sum())
    return StressResult(scenario.name, scenario.description, 0.0 if math.isclose(value, 0.0) else value)


def stress_all(book: Book, vol: float, params: ScanParameters | None = None) -> tuple[StressResult, ...]:
    """Every named scenario on ``book``."""
    return tuple(stress(book, vol, s, params) for s in SCENARIOS)
