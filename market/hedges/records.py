"""What a hedge is asked with and what the desk answers: frozen records, integers inside.

Prices in ticks of each instrument (its ``tick_micros`` travels with it), cash in micro-dollars,
quantities in lots of ``lot_gpus`` GPUs, instants as aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from market.records import OrderInfo

Means = Literal["refuse", "scale"]
"""What to do when the account's available cash does not cover the orders: refuse the hedge, or
scale every leg down by the same share."""

HedgeStatus = Literal["working", "filled", "incomplete", "cancelled"]
"""``working``: orders rest in the books; ``filled``: every leg has its target; ``incomplete``: nothing
rests but some target is unfilled (refused or expired orders: re-plan to place the rest);
``cancelled``: the buyer cancelled the hedge's open orders."""


@dataclass(frozen=True)
class HedgeTarget:
    """GPUs of one listed instrument the plan buys."""

    symbol: str
    gpus: int


@dataclass(frozen=True)
class PlanRequest:
    """A usage forecast for the exchange to plan (``pricing.hedging``), with the planner's settings.

    ``forecast`` is the planner's JSON form (``{"resolution", "usage": [rows]}``, see docs/hedging.md).
    """

    forecast: dict[str, Any]
    objective: Literal["variance", "cvar"] = "variance"
    alpha: float = 0.95
    budget_micros: int | None = None
    scenarios: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class HedgeRequest:
    """Turn a plan into orders: either the ``targets`` of a plan made elsewhere, or a ``plan`` request.

    Every order is a good-till-cancelled limit buy at the price its book fills the lots at, never above
    the instrument's fair value (its mark) plus ``slippage_ppm`` parts per million.
    """

    targets: tuple[HedgeTarget, ...] = ()
    plan: PlanRequest | None = None
    slippage_ppm: int = 10_000
    means: Means = "refuse"
    idempotency_key: str | None = None


@dataclass(frozen=True)
class HedgeOrderInfo:
    """One order a hedge placed in a round, or why it could not (``refused``: the exchange's code)."""

    round: int
    symbol: str
    client_order_id: str
    lots: int
    limit_ticks: int
    tick_micros: int
    refused: str | None
    order: OrderInfo | None


@dataclass(frozen=True)
class HedgeLegInfo:
    """One instrument of a hedge: its target, what is filled and resting, and what the fills cost."""

    symbol: str
    kind: str
    window_start: datetime
    window_end: datetime
    hours: int
    lot_gpus: int
    tick_micros: int
    planned_lots: int
    target_lots: int
    filled_lots: int
    open_lots: int
    cost_micros: int
    """Notional of the fills (price x lots x GPUs x hours; the premium for options)."""
    fees_micros: int

    @property
    def remaining_lots(self) -> int:
        return max(self.target_lots - self.filled_lots, 0)


@dataclass(frozen=True)
class HedgeInfo:
    """A hedge: the plan, its orders and fills, the cost to date and the exposure still open."""

    id: int
    account_id: str
    idempotency_key: str | None
    source: Literal["positions", "forecast"]
    status: HedgeStatus
    means: Means
    slippage_ppm: int
    scale_ppm: int
    """Share of the plan the account's means allowed, in parts per million (1,000,000: all of it)."""
    rounds: int
    legs: tuple[HedgeLegInfo, ...]
    orders: tuple[HedgeOrderInfo, ...]
    plan: dict[str, Any] | None
    """The planner's summary when the exchange planned (positions, bill distributions, hedge cost)."""
    cost_micros: int
    fees_micros: int
    reserved_micros: int
    """Cash the hedge's resting orders hold."""
    target_gpu_hours: int
    filled_gpu_hours: int
    remaining_gpu_hours: int
    """GPU-hours of the targets not filled yet."""
    expected_usage_gpu_hours: float | None
    unhedged_gpu_hours: float | None
    """Expected usage the filled forwards do not lock (forecast hedges only)."""
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
