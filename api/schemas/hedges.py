"""The buyer's desk: executing a hedge plan as orders and following it (see market.hedges)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from api.schemas.common import Money, Request, Symbol
from api.schemas.orders import OrderOut
from market.hedges.records import HedgeInfo, HedgeLegInfo, HedgeOrderInfo
from market.units import micros_to_dollars, micros_to_price, ticks_to_price

SlippageBps = Annotated[
    int,
    msgspec.Meta(
        ge=0, le=2000, description="most a limit may exceed the fair value (the mark), in basis points"
    ),
]


class HedgePositionIn(Request):
    """GPUs of one listed instrument to buy (a position of ``flopex hedge plan``)."""

    symbol: Symbol
    gpus: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class PlanIn(Request):
    """A usage forecast for the exchange to plan against its books and marks (``pricing.hedging``).

    ``forecast`` is the planner's JSON form ``{"resolution": "hour"|"day", "usage": [rows]}``, each row
    ``{"product", "start"}`` with ``usage``, ``quantiles`` or ``scenarios`` (docs/hedging.md)."""

    forecast: dict[str, Any]
    objective: Literal["variance", "cvar"] = "variance"
    alpha: Annotated[float, msgspec.Meta(ge=0.5, lt=1.0)] = 0.95
    budget: Money | None = None
    scenarios: Annotated[int, msgspec.Meta(ge=100, le=20_000)] = 2000
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0


class HedgeCreate(Request):
    """Either ``positions`` (a plan made elsewhere) or ``plan`` (a forecast the exchange plans).

    ``means``: when the account's available cash does not cover the orders, ``refuse`` the hedge
    (``insufficient_funds``) or ``scale`` every leg down by the same share."""

    positions: list[HedgePositionIn] | None = None
    plan: PlanIn | None = None
    max_slippage_bps: SlippageBps = 100
    means: Literal["refuse", "scale"] = "refuse"


class HedgeReplan(Request):
    """Place what is left at fresh limits (and re-plan a forecast hedge); slippage defaults to the hedge's."""

    max_slippage_bps: SlippageBps | None = None


class HedgeOrderOut(msgspec.Struct):
    """An order a round placed (``order``), or why it was not placed (``refused``: the exchange's code)."""

    round: int
    symbol: str
    client_order_id: str
    quantity: int
    limit_price: str
    refused: str | None
    order: OrderOut | None

    @classmethod
    def of(cls, item: HedgeOrderInfo) -> HedgeOrderOut:
        return cls(
            round=item.round,
            symbol=item.symbol,
            client_order_id=item.client_order_id,
            quantity=item.lots,
            limit_price=ticks_to_price(item.limit_ticks, item.tick_micros),
            refused=item.refused,
            order=None if item.order is None else OrderOut.of(item.order),
        )


class HedgeLegOut(msgspec.Struct):
    """One instrument of the hedge: quantities in lots of ``lot_gpus`` GPUs, money in USD."""

    symbol: str
    kind: str
    window_start: datetime
    window_end: datetime
    hours: int
    lot_gpus: int
    planned_quantity: int
    target_quantity: int
    filled_quantity: int
    open_quantity: int
    remaining_quantity: int
    cost: str
    fees: str
    average_price: str | None

    @classmethod
    def of(cls, leg: HedgeLegInfo) -> HedgeLegOut:
        gpu_hours = leg.filled_lots * leg.lot_gpus * leg.hours
        return cls(
            symbol=leg.symbol,
            kind=leg.kind,
            window_start=leg.window_start,
            window_end=leg.window_end,
            hours=leg.hours,
            lot_gpus=leg.lot_gpus,
            planned_quantity=leg.planned_lots,
            target_quantity=leg.target_lots,
            filled_quantity=leg.filled_lots,
            open_quantity=leg.open_lots,
            remaining_quantity=leg.remaining_lots,
            cost=micros_to_dollars(leg.cost_micros),
            fees=micros_to_dollars(leg.fees_micros),
            average_price=micros_to_price(leg.cost_micros // gpu_hours) if gpu_hours else None,
        )


class HedgeOut(msgspec.Struct):
    """A hedge: its plan, legs, orders and fills, what it cost so far and the exposure left.

    ``status``: ``working`` (orders rest), ``filled``, ``incomplete`` (nothing rests, some target
    unfilled: re-plan), ``cancelled``. ``scale`` is the share of the plan the account's means allowed.
    ``cost`` is the notional of the fills (premium for options), ``reserved`` the cash resting orders
    hold; ``remaining_gpu_hours`` the targets' GPU-hours not filled; for a forecast hedge,
    ``unhedged_gpu_hours`` is the expected usage the filled forwards do not lock."""

    id: int
    status: str
    source: str
    means: str
    max_slippage_bps: int
    scale: str
    rounds: int
    legs: list[HedgeLegOut]
    orders: list[HedgeOrderOut]
    plan: dict[str, Any] | None
    cost: str
    fees: str
    reserved: str
    target_gpu_hours: int
    filled_gpu_hours: int
    remaining_gpu_hours: int
    expected_usage_gpu_hours: float | None
    unhedged_gpu_hours: float | None
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None

    @classmethod
    def of(cls, hedge: HedgeInfo) -> HedgeOut:
        return cls(
            id=hedge.id,
            status=hedge.status,
            source=hedge.source,
            means=hedge.means,
            max_slippage_bps=hedge.slippage_ppm // 100,
            scale=micros_to_price(hedge.scale_ppm),
            rounds=hedge.rounds,
            legs=[HedgeLegOut.of(leg) for leg in hedge.legs],
            orders=[HedgeOrderOut.of(item) for item in hedge.orders],
            plan=hedge.plan,
            cost=micros_to_dollars(hedge.cost_micros),
            fees=micros_to_dollars(hedge.fees_micros),
            reserved=micros_to_dollars(hedge.reserved_micros),
            target_gpu_hours=hedge.target_gpu_hours,
            filled_gpu_hours=hedge.filled_gpu_hours,
            remaining_gpu_hours=hedge.remaining_gpu_hours,
            expected_usage_gpu_hours=hedge.expected_usage_gpu_hours,
            unhedged_gpu_hours=hedge.unhedged_gpu_hours,
            idempotency_key=hedge.idempotency_key,
            created_at=hedge.created_at,
            updated_at=hedge.updated_at,
            cancelled_at=hedge.cancelled_at,
        )
