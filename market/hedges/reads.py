"""Reading a hedge back: its legs, every order it placed with the fills, and what they add up to.

Nothing here is stored twice: fills, open lots and the cost to date come from the orders and trades
the trading room wrote, joined through the order ids the hedge recorded.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market.catalog import instrument
from market.hedges.records import HedgeInfo, HedgeLegInfo, HedgeOrderInfo, HedgeStatus
from market.hedges.tables import Hedge, HedgeLeg, HedgeOrder
from market.queries import order_info
from market.records import InstrumentInfo, OrderInfo
from market.tables import Order
from market.units import from_epoch_us
from market.vocabulary import LIVE

if TYPE_CHECKING:
    from market.house import House

_hedges, _legs, _hedge_orders, _orders = (
    Hedge.__table__,
    HedgeLeg.__table__,
    HedgeOrder.__table__,
    Order.__table__,
)


def hedge_info(house: House, connection: sa.Connection, row: sa.Row) -> HedgeInfo:
    """The :class:`HedgeInfo` of a stored hedge row."""
    legs = connection.execute(
        sa.select(_legs).where(_legs.c.hedge_id == row.id).order_by(_legs.c.symbol)
    ).all()
    placed = connection.execute(
        sa.select(_hedge_orders).where(_hedge_orders.c.hedge_id == row.id).order_by(_hedge_orders.c.id)
    ).all()
    ids = [p.order_id for p in placed if p.order_id is not None]
    stored = {
        r.id: order_info(house, dict(r._mapping), None, connection)
        for r in connection.execute(sa.select(_orders).where(_orders.c.id.in_(ids)))
    } if ids else {}  # fmt: skip
    symbols = {leg.symbol for leg in legs} | {p.symbol for p in placed}
    specs = {symbol: instrument(house, symbol) for symbol in symbols}
    orders = tuple(
        HedgeOrderInfo(
            p.round,
            p.symbol,
            p.client_order_id,
            p.lots,
            p.limit_ticks,
            specs[p.symbol].tick_micros,
            p.refused,
            stored.get(p.order_id) if p.order_id else None,
        )
        for p in placed
    )
    infos = tuple(
        _leg(leg, specs[leg.symbol], [o.order for o in orders if o.symbol == leg.symbol and o.order])
        for leg in legs
    )
    plan = json.loads(row.plan) if row.plan else None
    expected = plan["expected_usage_gpu_hours"] if plan else None
    locked = sum(leg.filled_lots * leg.lot_gpus * leg.hours for leg in infos if leg.kind == "forward")
    live = [o.order for o in orders if o.order is not None and o.order.status in LIVE]
    return HedgeInfo(
        id=row.id,
        account_id=row.account_id,
        idempotency_key=row.idempotency_key,
        source=row.source,
        status=_status(row, infos, live),
        means=row.means,
        slippage_ppm=row.slippage_ppm,
        scale_ppm=row.scale_ppm,
        rounds=row.rounds,
        legs=infos,
        orders=orders,
        plan=plan,
        cost_micros=sum(leg.cost_micros for leg in infos),
        fees_micros=sum(leg.fees_micros for leg in infos),
        reserved_micros=sum(order.reserved_micros for order in live),
        target_gpu_hours=sum(leg.target_lots * leg.lot_gpus * leg.hours for leg in infos),
        filled_gpu_hours=sum(leg.filled_lots * leg.lot_gpus * leg.hours for leg in infos),
        remaining_gpu_hours=sum(leg.remaining_lots * leg.lot_gpus * leg.hours for leg in infos),
        expected_usage_gpu_hours=expected,
        unhedged_gpu_hours=None if expected is None else max(expected - locked, 0.0),
        created_at=from_epoch_us(row.created_us),
        updated_at=from_epoch_us(row.updated_us),
        cancelled_at=None if row.cancelled_us is None else from_epoch_us(row.cancelled_us),
    )


def _leg(leg: sa.Row, spec: InstrumentInfo, orders: list[OrderInfo]) -> HedgeLegInfo:
    fills = [fill for order in orders for fill in order.fills]
    return HedgeLegInfo(
        symbol=leg.symbol,
        kind=spec.kind,
        window_start=spec.window_start,
        window_end=spec.window_end,
        hours=spec.hours,
        lot_gpus=spec.lot_gpus,
        tick_micros=spec.tick_micros,
        planned_lots=leg.planned_lots,
        target_lots=leg.target_lots,
        filled_lots=sum(order.filled for order in orders),
        open_lots=sum(order.open_qty for order in orders if order.status in LIVE),
        cost_micros=sum(fill.price_ticks * fill.qty * spec.multiplier_micros for fill in fills),
        fees_micros=sum(fill.fee_micros for fill in fills),
    )


def _status(row: sa.Row, legs: tuple[HedgeLegInfo, ...], live: list[OrderInfo]) -> HedgeStatus:
    if row.cancelled_us is not None:
        return "cancelled"
    if all(leg.filled_lots >= leg.target_lots for leg in legs):
        return "filled"
    return "working" if live else "incomplete"
