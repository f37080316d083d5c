"""A stress scenario: the products, the population of agents, the shock and the mitigations.

Scenarios are frozen dataclasses; the shipped ones are in :data:`SCENARIOS` (``generation-shock``,
``scarcity-spike``, ``index-outage``, ``basket-run``). A scenario file is JSON naming a shipped
scenario as its ``base`` and overriding any field (nested sections merge), validated strictly
(:func:`load`), e.g. ``{"base": "generation-shock", "population": {"leverage": 8}}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from pricing.risk.stress import SCENARIOS as STRESS_SCENARIOS


@dataclass(frozen=True)
class Product:
    """A product whose front-month cash forward trades in the lab, and its part in the shock."""

    name: str
    price: float
    """The fundamental rental price at the start, USD per GPU-hour."""
    beta: float = 1.0
    """How much of the shock's log move the product takes (0: untouched)."""
    basket_lots: int = 1
    """Lots of its forward in one unit of the basket fund."""


@dataclass(frozen=True)
class Population:
    """Who trades. Money in whole USD; shares and ratios as fractions."""

    market_makers: int = 3
    mm_capital_usd: int = 400_000
    leveraged_longs: int = 12
    leveraged_shorts: int = 3
    leverage: float = 6.0
    """Position notional over equity of each leveraged holder."""
    trader_equity_usd: int = 60_000
    reserve_share: float = 0.25
    """Extra cash (as a share of equity) a leveraged holder can post to meet a call."""
    hedgers: int = 4
    providers: int = 3
    provider_unsold_lots: int = 60
    """Unsold capacity per provider per product, dumped when prices fall."""
    basket_holders: int = 20
    chaser_share: float = 0.5
    """Share of basket holders whose flows follow past returns."""
    basket_units: int = 600
    aps: int = 1


@dataclass(frozen=True)
class Shock:
    """The exogenous move. ``stress`` names a scenario of :mod:`pricing.risk.stress` whose price and
    volatility factors the fundamental takes at ``at_hour`` (``price_factor`` overrides its price
    move); ``outage_hours`` keeps the index dark from then on; ``run_share`` of basket holders sell
    everything at the shock (a run on the fund)."""

    stress: str = "new_generation"
    at_hour: int = 8
    price_factor: float | None = None
    outage_hours: int = 0
    run_share: float = 0.0


@dataclass(frozen=True)
class Mitigations:
    """The rules a run can change; the defaults are the exchange's own rules."""

    band_bps: int | None = None
    """A price band on every forward book (the engine's), basis points around the last trade."""
    breaker_move: float | None = None
    """Halt a forward for ``breaker_hours`` when its price moved this much within an hour."""
    breaker_hours: int = 2
    apc_weight: float = 0.25
    """The stressed-period weight of the margin volatility (0: plain procyclical margins)."""
    margin_floor_vol: float = 0.0
    """A floor on the margin volatility (an anti-procyclical floor)."""
    slice: float = 0.25
    """The liquidation engine's slice of a position per pass."""
    redemption_gate: float | None = None
    """At most this share of the units outstanding redeemed per day."""
    in_kind_only: bool = False
    """Redemptions only in kind: APs take the strip and unwind it themselves, patiently."""
    fund_multiple: float = 1.0
    """The default fund's size as a multiple of Cover 1."""


@dataclass(frozen=True)
class Scenario:
    """A full scenario."""

    name: str
    description: str
    hours: int = 36
    step_minutes: int = 15
    model_vol: float = 0.5
    """Volatility of the fundamental (Schwartz one-factor) before the shock."""
    mean_reversion: float = 8.0
    products: tuple[Product, ...] = (
        Product("H100", 2.00, 1.0, 2),
        Product("H200", 2.60, 0.8, 1),
        Product("B200", 4.00, 0.3, 1),
    )
    population: Population = field(default_factory=Population)
    shock: Shock = field(default_factory=Shock)
    mitigations: Mitigations = field(default_factory=Mitigations)

    def __post_init__(self) -> None:
        if self.shock.stress not in {s.name for s in STRESS_SCENARIOS}:
            raise ValueError(f"unknown stress {self.shock.stress!r}")
        if not 1 <= self.step_minutes <= 60 or 60 % self.step_minutes:
            raise ValueError("step_minutes divides an hour")
        if not 0 < self.shock.at_hour < self.hours <= 24 * 14:
            raise ValueError("the shock falls inside a run of at most two weeks")
        if not 0 <= self.population.chaser_share <= 1 or not 0 <= self.shock.run_share <= 1:
            raise ValueError("shares are fractions")
        if self.population.leverage < 0 or self.mitigations.slice <= 0:
            raise ValueError("leverage is non-negative and a liquidation slice positive")

    @property
    def steps(self) -> int:
        return self.hours * 60 // self.step_minutes

    @property
    def steps_per_hour(self) -> int:
        return 60 // self.step_minutes

    def with_changes(self, changes: dict[str, Any]) -> Scenario:
        """This scenario with ``changes`` (nested sections merge) applied, validated."""
        merged = _merge(msgspec.to_builtins(self), changes)
        merged.pop("base", None)
        return msgspec.convert(merged, Scenario, strict=True)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "generation-shock",
            "a new GPU generation: the H100 and H200 fundamentals drop 40% (B200 less), volatility x1.5",
        ),
        Scenario(
            "scarcity-spike",
            "a scarcity spike: fundamentals triple, volatility doubles; the shorts are squeezed",
            shock=Shock("scarcity_spike"),
            population=Population(leveraged_longs=3, leveraged_shorts=12),
        ),
        Scenario(
            "index-outage",
            "the index is dark for 18 hours while fundamentals fall 30%: margins cannot follow",
            shock=Shock("index_outage", price_factor=0.7, outage_hours=18),
        ),
        Scenario(
            "basket-run",
            "a run on the basket fund: 60% of its holders sell at once after a 15% fall",
            shock=Shock("new_generation", price_factor=0.85, run_share=0.6),
            population=Population(basket_units=1500, chaser_share=0.7),
        ),
    )
}


def named(name: str) -> Scenario:
    """A shipped scenario by name."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; shipped: {', '.join(SCENARIOS)}") from None


def from_dict(data: dict[str, Any]) -> Scenario:
    """A scenario from a JSON object: ``base`` (a shipped scenario, default ``generation-shock``)
    with the object's other fields applied."""
    if not isinstance(data, dict):
        raise ValueError("a scenario file holds a JSON object")
    base = named(data.get("base", "generation-shock"))
    try:
        return base.with_changes(data)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid scenario: {exc}") from None


def load(source: str) -> Scenario:
    """A shipped scenario's name or the path of a scenario file."""
    if source in SCENARIOS:
        return SCENARIOS[source]
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{source!r} is neither a shipped scenario ({', '.join(SCENARIOS)}) nor a file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    return from_dict(data)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
