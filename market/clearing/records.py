"""What the clearing house reports: immutable records returned by the service's clearing use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class MarginCallInfo:
    """A margin call (see :mod:`market.clearing.calls`), micro-dollars."""

    id: int
    account_id: str
    status: str
    required_micros: int
    held_micros: int
    amount_micros: int
    created_at: datetime
    deadline: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class MarginInfo:
    """An account's portfolio margin in one product at the last pass, with its parts."""

    product: str
    required_micros: int
    scan_micros: int
    spread_micros: int
    option_value_micros: int
    floor_micros: int
    per_instrument_micros: int
    """What today's per-instrument rule would hold for the same positions."""
    vol: float
    as_of: datetime


@dataclass(frozen=True)
class DefaultInfo:
    """A default and how the waterfall covered it, micro-dollars per step."""

    id: int
    account_id: str
    ref: str
    shortfall_micros: int
    contribution_micros: int
    capital_micros: int
    fund_micros: int
    assessment_micros: int
    uncovered_micros: int
    at: datetime


@dataclass(frozen=True)
class FundInfo:
    """The default fund: members' contributions and the exchange's capital slice."""

    contributions: dict[str, int]
    fund_micros: int
    capital_micros: int


@dataclass(frozen=True)
class ProductRisk:
    """One product of an account's risk report (USD)."""

    product: str
    delta: float
    """dV/dF summed over positions: GPU-hours of forward-equivalent exposure."""
    gamma: float
    vega: float
    """Value change per unit of volatility (1.00 = 100 points)."""
    vol: float
    historical_var: float | None
    historical_es: float | None
    historical_scenarios: int
    mc_var: float
    mc_es: float
    stress: dict[str, float]


@dataclass(frozen=True)
class RiskReport:
    """An account's risk: per product Greeks, VaR/ES (1 day, VaR 99%, ES 97.5%), stress, margin."""

    account_id: str
    products: tuple[ProductRisk, ...]
    margin: tuple[MarginInfo, ...]
    as_of: datetime


@dataclass(frozen=True)
class InstructionInfo:
    """An instruction of an elected process for the shard owning ``product``'s books
    (:mod:`market.clearing.outbox`): ``kind`` ``liquidate`` (a call's liquidation: ``call_id`` and
    ``account_id``), ``note_face`` or ``note_retire`` (pool servicing's revision of note ``symbol``);
    ``applied_at`` None while it waits for that shard."""

    id: int
    kind: str
    call_id: int | None
    account_id: str | None
    product: str
    created_at: datetime
    applied_at: datetime | None
    outcome: str | None
    symbol: str | None = None
