"""Turning a hedge's targets into orders: limit prices, the account's means, one round of orders.

**Limits.** Each leg is a good-till-cancelled limit buy. Its limit is the price at which the book's
offers fill the lots -- the worst offer level the lots reach -- but never above the instrument's fair
value (its mark) plus the hedge's slippage; when the offers up to that cap cannot fill the lots, the
limit is the cap: the order takes what is offered and rests for the rest.

**Means.** What the orders would hold (the trading room's own hold per lot at the limit: notional plus
fee for physical forwards and options, initial margin for cash-settled forwards) is compared with the
account's available cash (plus what the hedge's own resting orders hold, when a re-plan replaces them).
Short of it, ``refuse`` refuses the hedge (``insufficient_funds``, saying how much is needed and how
much is available) and ``scale`` buys the same share of every leg, rounded down to whole lots.

**A round** is one transaction: the hedge's rows, any resting orders it replaces cancelled, and every
new order placed through the trading room (client order id ``hedge-<id>-<round>-<symbol>``, so a
round is never placed twice); an order the exchange refuses is recorded with its code, not raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import cash, marks, queries
from market.accounts import roles_of
from market.errors import InsufficientFundsError, MarketError
from market.hedges.tables import Hedge, HedgeLeg, HedgeOrder
from market.records import BookInfo, OrderRequest
from market.units import micros_to_dollars

if TYPE_CHECKING:
    from market.house import House

_hedges, _legs, _orders = Hedge.__table__, HedgeLeg.__table__, HedgeOrder.__table__
PPM = 1_000_000


@dataclass(frozen=True)
class Leg:
    """Lots to buy of one symbol in a round, at a limit (ticks), holding ``hold_micros`` per lot;
    ``refused`` is the code of an error found before placing (no mark, instrument not open)."""

    symbol: str
    lots: int
    limit_ticks: int
    hold_micros: int
    refused: str | None = None


def limit_ticks(book: BookInfo, lots: int, cap_ticks: int) -> int:
    """The price the book's offers fill ``lots`` at (its worst level reached), or ``cap_ticks`` when
    the offers up to the cap do not fill them (see the module docstring)."""
    left = lots
    for level in book.asks:
        if level.price_ticks > cap_ticks:
            break
        left -= level.qty
        if left <= 0:
            return level.price_ticks
    return cap_ticks


def price_legs(house: House, wanted: Mapping[str, int], slippage_ppm: int) -> list[Leg]:
    """A priced :class:`Leg` per symbol of ``wanted`` (lots > 0), in the order given."""
    trading = house.books()
    legs = []
    for symbol, lots in wanted.items():
        if lots <= 0:
            continue
        try:
            inst = trading.instrument(symbol)
            fair = marks.mark(house, symbol, greeks=False).fair_value_micros
            cap = max(fair * (PPM + slippage_ppm) // (PPM * inst.tick_micros), 1)
            limit = limit_ticks(queries.book(house, symbol), lots, cap)
            legs.append(Leg(symbol, lots, limit, trading.hold_per_lot(inst, "buy", limit)))
        except MarketError as error:
            legs.append(Leg(symbol, lots, 0, 0, error.code))
    return legs


def within_means(
    house: House,
    account_id: str,
    legs: list[Leg],
    means: str,
    freed_micros: int = 0,
    field: str = "positions",
) -> tuple[list[Leg], int]:
    """``legs`` cut to what the account can hold, and the share kept (ppm); see the module docstring."""
    needed = sum(leg.lots * leg.hold_micros for leg in legs if leg.refused is None)
    available = cash.balances(house, account_id).available + freed_micros
    if needed <= available:
        return legs, PPM
    shortfall = (
        f"the orders would hold USD {micros_to_dollars(needed)} and the account has "
        f"USD {micros_to_dollars(available)} available"
    )
    if means == "refuse":
        raise InsufficientFundsError(f"{shortfall}: deposit more, or ask for means=scale", field=field)
    share = available * PPM // needed
    scaled = [
        leg
        if leg.refused
        else Leg(leg.symbol, leg.lots * available // needed, leg.limit_ticks, leg.hold_micros)
        for leg in legs
    ]
    if not any(leg.lots for leg in scaled if leg.refused is None):
        raise InsufficientFundsError(f"{shortfall}: not one lot of the plan fits", field=field)
    return scaled, share


def place_round(
    house: House,
    account_id: str,
    targets: Mapping[str, tuple[int, int]],
    legs: list[Leg],
    *,
    new: dict | None = None,
    hedge_id: int | None = None,
    replace: tuple[str, ...] = (),
    changes: Mapping[str, object] | None = None,
) -> int:
    """Write one round in ONE transaction and return the hedge's id.

    Either ``new``, the row of a new hedge to insert (round 1), or the ``hedge_id`` of a stored one
    (the next round); ``targets`` (symbol -> (planned lots, target lots)) become the hedge's legs;
    ``replace``: ids of the hedge's resting orders to cancel first; ``changes``: columns of a stored
    hedge to update with the round (its plan, slippage, share).
    """
    with house.transaction() as uow:
        trading = house.books()
        connection = uow.connection
        if new is not None:
            hedge_id = connection.execute(
                sa.insert(_hedges).values(**new, rounds=1, created_us=uow.now_us, updated_us=uow.now_us)
            ).inserted_primary_key[0]
            round_ = 1
        else:
            query = sa.select(_hedges.c.rounds).where(_hedges.c.id == hedge_id)
            round_ = connection.execute(query).scalar_one() + 1
            connection.execute(
                sa.update(_hedges)
                .where(_hedges.c.id == hedge_id)
                .values(**(changes or {}), rounds=round_, updated_us=uow.now_us)
            )
            connection.execute(sa.delete(_legs).where(_legs.c.hedge_id == hedge_id))
        if targets:
            connection.execute(
                sa.insert(_legs),
                [
                    {"hedge_id": hedge_id, "symbol": s, "planned_lots": p, "target_lots": t}
                    for s, (p, t) in targets.items()
                ],
            )
        for order_id in replace:
            if order_id in trading.live:
                trading.cancel(uow, account_id, order_id)
        roles = roles_of(connection, account_id)
        rows = []
        for leg in legs:
            client_id = f"hedge-{hedge_id}-{round_}-{leg.symbol}"[:64]
            order_id, refused = None, leg.refused
            if refused is None and leg.lots > 0:
                request = OrderRequest(
                    leg.symbol, "buy", leg.lots, "limit", leg.limit_ticks, "gtc", client_order_id=client_id
                )
                try:
                    row = trading.new_order(uow, account_id, roles, request)
                    order_id = row["id"]
                    refused = row["reason"] if row["status"] == "rejected" else None
                except MarketError as error:
                    refused = error.code
            if leg.lots > 0:
                rows.append(
                    {
                        "hedge_id": hedge_id,
                        "round": round_,
                        "symbol": leg.symbol,
                        "client_order_id": client_id,
                        "order_id": order_id,
                        "lots": leg.lots,
                        "limit_ticks": leg.limit_ticks,
                        "refused": refused,
                        "created_us": uow.now_us,
                    }
                )
        if rows:
            connection.execute(sa.insert(_orders), rows)
    return int(hedge_id)  # type: ignore[arg-type]


def cancel_resting(house: House, account_id: str, hedge_id: int, order_ids: list[str]) -> None:
    """Cancel the hedge's resting orders and mark it cancelled, in one transaction."""
    with house.transaction() as uow:
        trading = house.books()
        for order_id in order_ids:
            if order_id in trading.live:
                trading.cancel(uow, account_id, order_id)
        uow.connection.execute(
            sa.update(_hedges)
            .where(_hedges.c.id == hedge_id, _hedges.c.cancelled_us.is_(None))
            .values(cancelled_us=uow.now_us, updated_us=uow.now_us)
        )
