"""Orders and fills."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas.common import Instant, Price, Quantity, Request, Symbol
from market.instruments import canonical_symbol
from market.records import CancelTimerInfo, FillInfo, OrderInfo
from market.units import micros_to_dollars, ticks_to_price
from market.vocabulary import OrderType, SelfTradePrevention, Side, TimeInForce

ClientOrderId = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", description="your id, unique per account")
]


TRAIL = (
    "trailing stops: how far the trigger trails the best price traded since the stop was armed, a "
    "price amount in USD per GPU-hour (a whole number of ticks)"
)


class OrderCreate(Request):
    """A new order. ``price`` is required for limit orders (and ``stop_limit``, ``trailing_stop_limit``),
    ``stop_price`` for stops, ``trail`` for trailing stops (``activation_price`` optional), ``expire_at``
    for ``gtd``; ``display_quantity`` makes an iceberg. ``time_in_force`` defaults to ``gtc``, and to
    ``ioc`` for market orders (which may only be ``ioc`` or ``fok``). A ``reduce_only`` order (``ioc``
    or ``fok``) may only shrink your position; during a margin call only these are accepted."""

    symbol: Symbol
    side: Side
    quantity: Quantity
    type: OrderType = "limit"
    price: Price | None = None
    time_in_force: TimeInForce | None = None
    post_only: bool = False
    client_order_id: ClientOrderId | None = None
    stp: SelfTradePrevention = "cancel_newest"
    expire_at: Instant | None = None
    display_quantity: Quantity | None = None
    stop_price: Price | None = None
    reduce_only: bool = False
    trail: Annotated[Price, msgspec.Meta(description=TRAIL)] | None = None
    activation_price: Price | None = None

    def __post_init__(self) -> None:
        self.symbol = canonical_symbol(self.symbol)  # any spelling of a strike names one instrument


class OrderAmend(Request):
    """New quantity and/or price; lowering the quantity keeps time priority, anything else loses it."""

    quantity: Quantity | None = None
    price: Price | None = None


class FillOut(msgspec.Struct):
    """One fill of one of your orders."""

    trade_id: int
    order_id: str
    symbol: str
    side: str
    price: str
    quantity: int
    liquidity: str
    fee: str
    created_at: datetime

    @classmethod
    def of(cls, fill: FillInfo) -> FillOut:
        return cls(
            trade_id=fill.trade_id,
            order_id=fill.order_id,
            symbol=fill.symbol,
            side=fill.side,
            price=ticks_to_price(fill.price_ticks, fill.tick_micros),
            quantity=fill.qty,
            liquidity=fill.liquidity,
            fee=micros_to_dollars(fill.fee_micros),
            created_at=fill.created_at,
        )


class OrderOut(msgspec.Struct):
    """An order and what became of it: ``filled + cancelled + open_quantity == quantity``."""

    id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    price: str | None
    stop_price: str | None  # a trailing stop's current trigger (null until it is armed)
    trail: str | None
    activation_price: str | None
    triggered: bool
    link_id: str | None  # the one-cancels-other pair of the order
    quantity: int
    open_quantity: int
    filled_quantity: int
    cancelled_quantity: int
    status: str
    reason: str | None
    time_in_force: str
    post_only: bool
    stp: str
    expire_at: datetime | None
    display_quantity: int | None
    reserved: str
    fills: list[FillOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: OrderInfo) -> OrderOut:
        def price(ticks: int | None) -> str | None:
            return None if ticks is None else ticks_to_price(ticks, order.tick_micros)

        return cls(
            id=order.id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            price=price(order.price_ticks),
            stop_price=price(order.stop_price_ticks),
            trail=price(order.trail_ticks),
            activation_price=price(order.activation_price_ticks),
            triggered=order.triggered,
            link_id=order.link_id,
            quantity=order.qty,
            open_quantity=order.open_qty,
            filled_quantity=order.filled,
            cancelled_quantity=order.cancelled,
            status=order.status,
            reason=order.reason,
            time_in_force=order.tif,
            post_only=order.post_only,
            stp=order.stp,
            expire_at=order.expire_at,
            display_quantity=order.display_qty,
            reserved=micros_to_dollars(order.reserved_micros),
            fills=[FillOut.of(fill) for fill in order.fills],
            created_at=order.created_at,
            updated_at=order.updated_at,
        )


class OcoCreate(Request):
    """Two orders of one instrument placed as a one-cancels-other pair: the same side and quantity, one
    a ``gtc``/``gtd`` limit (the take-profit) and the other a stop or trailing stop; with a plain stop
    the limit lies on the profit side (a sell's above the stop price, a buy's below). When either
    trades (partly or wholly), triggers or closes, the other is cancelled in the same commit."""

    orders: Annotated[list[OrderCreate], msgspec.Meta(min_length=2, max_length=2)]


class OcoOut(msgspec.Struct):
    """The two legs of a pair, in the order sent, and the ``link_id`` they share."""

    link_id: str | None
    orders: list[OrderOut]


class CancelledOut(msgspec.Struct):
    """The orders a mass cancel closed."""

    cancelled: list[OrderOut]


MAX_BATCH_ORDERS = 20
"""Most orders one ``POST /v1/orders/batch`` may carry."""


class OrderBatch(Request):
    """Up to :data:`MAX_BATCH_ORDERS` new orders, placed in the order given and committed together."""

    orders: Annotated[list[OrderCreate], msgspec.Meta(min_length=1, max_length=MAX_BATCH_ORDERS)]


class BatchError(msgspec.Struct):
    """Why one order of a batch was not accepted: the problem ``code`` and ``status`` the same order
    would have got from ``POST /v1/orders``, and the offending ``field``."""

    code: str
    status: int
    detail: str
    field: str | None


class BatchResult(msgspec.Struct):
    """The outcome of the order at ``index``: ``order`` when it was stored (a book rejection is stored
    too, with ``status: rejected``, and also carries ``error``), ``error`` when it was not accepted."""

    index: int
    order: OrderOut | None
    error: BatchError | None


class BatchOut(msgspec.Struct):
    """One result per order of the batch, in the order sent."""

    results: list[BatchResult]


class CancelAfter(Request):
    """Arm or renew the dead-man switch: cancel all your live orders ``timeout`` seconds from now
    unless renewed; ``0`` disarms it."""

    timeout: Annotated[int, msgspec.Meta(ge=0, le=86_400, description="seconds; 0 disarms")]


class CancelTimerOut(msgspec.Struct):
    """Your dead-man switch: armed while ``deadline`` is set (``timeout`` seconds after the last
    renewal at ``armed_at``); ``fired_at`` and ``cancelled`` (order ids) say what it last did; ``now``
    is the exchange clock."""

    armed: bool
    timeout: int
    deadline: datetime | None
    armed_at: datetime | None
    fired_at: datetime | None
    cancelled: list[str]
    now: datetime

    @classmethod
    def of(cls, timer: CancelTimerInfo, now: datetime) -> CancelTimerOut:
        return cls(
            armed=timer.deadline is not None,
            timeout=timer.timeout_seconds,
            deadline=timer.deadline,
            armed_at=timer.armed_at,
            fired_at=timer.fired_at,
            cancelled=list(timer.cancelled),
            now=now,
        )
