"""Creation and redemption of a basket fund's units by its authorised participants.

All in one transaction, at the NAV of that instant (:mod:`market.baskets.valuation`), with
:mod:`market.basket`'s arithmetic (the stress lab's):

- **creation in kind**: the participant moves ``units x lots`` of each leg to the fund at the leg's
  mark and pays ``creation_cash(units, NAV, in_kind_fee_ppm)``;
- **creation in cash**: it pays ``creation_cash(units, NAV, fee_ppm)`` and the fund buys the strip on
  the books with fill-or-kill limit orders at most ``slippage_ppm`` above the marks; what those
  trades cost beyond the marks (price and fees) is charged to the participant too, so the other
  holders' NAV does not move;
- **redemption in kind**: the fund moves the strip to the participant at the marks and pays
  ``redemption_cash(units, NAV, in_kind_fee_ppm)``;
- **redemption in cash**: the fund sells the strip on the books (fill-or-kill, at most
  ``slippage_ppm`` below the marks) and pays ``redemption_cash(units, NAV, fee_ppm)`` less the sales'
  shortfall against the marks.

Units are issued to (or cancelled from) the participant by a trade of kind ``basket`` with the fund
account at the NAV, strip positions move by ``basket`` trades at the marks (not market trades: the
marks, the index and the trade tape leave them out), and every cash movement is a ledger transfer.
The fee stays in the fund (it is the remaining holders'). A refusal -- not a participant, the fund
closed, the strip or cash missing, the books too thin -- leaves nothing changed. A redemption must
leave at least one unit outstanding (the fund is paid out by winding up). Flows are idempotent by the
participant's key.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import basket, margin
from market.baskets import funds
from market.baskets.records import ACTIONS, CREATE, IN_KIND, METHODS, FlowInfo, FlowRequest
from market.baskets.tables import BasketFlow
from market.baskets.valuation import record, unit_margin, value
from market.errors import (
    ForbiddenError,
    IdempotencyKeyReusedError,
    InstrumentNotOpenError,
    InsufficientDepthError,
    InsufficientFundsError,
    InvalidQuantityError,
    InvalidRequestError,
    InventoryExceededError,
)
from market.instruments import Instrument
from market.ledger import AVAILABLE, MARGIN
from market.margin import book_trade
from market.records import OrderRequest
from market.store import UnitOfWork
from market.tables import BASKET
from market.trading import MAX_QTY, Trading
from market.units import from_epoch_us

if TYPE_CHECKING:
    from market.house import House

_flows = BasketFlow.__table__


def flow(house: House, account_id: str, symbol: str, request: FlowRequest) -> FlowInfo:
    """Create or redeem units for the participant ``account_id`` (see the module docstring)."""
    _check(request)
    digest = hashlib.sha256(f"{request.action}|{request.method}|{request.units}".encode()).hexdigest()
    with house.transaction() as uow:
        trading = house.books()
        row = funds.fund_row(uow.connection, symbol)
        if request.idempotency_key is not None:
            existing = _by_key(uow.connection, row.id, account_id, request.idempotency_key, digest)
            if existing is not None:
                return _info(symbol, existing)
        if not funds.is_participant(uow.connection, row.id, account_id):
            raise ForbiddenError(f"{account_id} is not an authorised participant of {symbol}")
        unit = trading.instrument(symbol)
        if row.status != "active" or unit.status != "open" or uow.now_us >= unit.expiry_us:
            raise InstrumentNotOpenError(f"{symbol} no longer creates or redeems units", field="symbol")
        legs = funds.legs_of(uow.connection, row.id)
        if away := [leg.symbol for leg in legs if leg.symbol not in trading.instruments]:
            raise funds.across_shards(away[0])  # a single writer holds every leg
        v = value(uow, trading, row, legs)
        record(uow, row.id, v, unit_margin(uow, trading, legs, row.fund_id))
        ppm = row.in_kind_fee_ppm if request.method == IN_KIND else row.fee_ppm
        n = request.units
        ap, fund = account_id, row.fund_id
        kind = f"basket_{request.action}"
        if request.action == CREATE:
            gross = basket.creation_cash(n, v.nav, ppm)
            _pay(uow, ap, fund, gross, kind, ap, symbol)
            if request.method == IN_KIND:
                _move_strip(uow, trading, legs, v.mark_ticks, n, giver=ap, taker=fund)
                costs = 0
            else:
                costs = _trade_strip(uow, trading, row, legs, v.mark_ticks, n, "buy")
                _pay(uow, ap, fund, costs, kind, ap, symbol)
            _units(uow, unit, n, v.nav, buyer=ap, seller=fund)
            paid = gross + costs
        else:
            if n >= v.units:
                raise InvalidQuantityError(
                    f"{symbol} has {v.units} units outstanding; a redemption leaves at least one",
                    field="units",
                )
            if n > trading.sellable_notes(uow, symbol, ap):
                raise InventoryExceededError(
                    f"redeeming {n} units needs them held and not offered", field="units"
                )
            _units(uow, unit, n, v.nav, buyer=fund, seller=ap)
            gross = basket.redemption_cash(n, v.nav, ppm)
            if request.method == IN_KIND:
                _move_strip(uow, trading, legs, v.mark_ticks, n, giver=fund, taker=ap)
                costs = 0
            else:
                costs = _trade_strip(uow, trading, row, legs, v.mark_ticks, n, "sell")
            paid = gross - costs
            if paid < 0:
                raise InsufficientDepthError(f"selling {symbol}'s strip would cost more than the units' NAV")
            _free(uow, fund, paid)
            _pay(uow, fund, ap, paid, kind, ap, symbol)
        flow_id = uow.connection.execute(
            _flows.insert().returning(_flows.c.id),
            {
                "basket_id": row.id,
                "account_id": ap,
                "action": request.action,
                "method": request.method,
                "units": n,
                "nav_micros": v.nav,
                "cash_micros": paid,
                "fee_micros": basket.fee(n * v.nav, ppm),
                "costs_micros": costs,
                "idempotency_key": request.idempotency_key,
                "request_hash": digest,
                "created_us": uow.now_us,
            },
        ).scalar_one()
        uow.ledger.post(kind, account_id=ap, ref=symbol)  # the margin the moved positions hold
        found = uow.connection.execute(sa.select(_flows).where(_flows.c.id == flow_id)).one()
        return _info(symbol, found)


def flows(house: House, symbol: str, account_id: str | None = None, limit: int = 100) -> list[FlowInfo]:
    """The fund's creations and redemptions, newest first (one participant's when ``account_id``)."""
    with house.read() as connection:
        row = funds.fund_row(connection, symbol)
        query = sa.select(_flows).where(_flows.c.basket_id == row.id)
        if account_id is not None:
            query = query.where(_flows.c.account_id == account_id)
        return [_info(symbol, r) for r in connection.execute(query.order_by(_flows.c.id.desc()).limit(limit))]


def _check(request: FlowRequest) -> None:
    if request.action not in ACTIONS:
        raise InvalidRequestError(f"action must be one of {', '.join(ACTIONS)}", field="action")
    if request.method not in METHODS:
        raise InvalidRequestError(f"method must be one of {', '.join(METHODS)}", field="method")
    if type(request.units) is not int or not 0 < request.units <= MAX_QTY:
        raise InvalidQuantityError("units must be a positive whole number", field="units")
    key = request.idempotency_key
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        raise InvalidRequestError("an idempotency key has 1-200 characters", field="idempotency_key")


def _by_key(
    connection: sa.Connection, basket_id: int, account_id: str, key: str, digest: str
) -> sa.Row | None:
    found = connection.execute(
        sa.select(_flows).where(
            _flows.c.basket_id == basket_id,
            _flows.c.account_id == account_id,
            _flows.c.idempotency_key == key,
        )
    ).one_or_none()
    if found is not None and found.request_hash != digest:
        raise IdempotencyKeyReusedError(
            f"idempotency key {key!r} was used for a different flow", field="idempotency_key"
        )
    return found


def _pay(uow: UnitOfWork, payer: str, payee: str, amount: int, kind: str, ap: str, symbol: str) -> None:
    """Move ``amount`` from the payer's available cash to the payee's (a negative amount the other way),
    posted at once as a ``kind`` transfer of the participant ``ap`` (before any strip order posts its own)."""
    if amount < 0:
        payer, payee, amount = payee, payer, -amount
    have = uow.ledger.balance(payer, AVAILABLE)
    if amount > have:
        raise InsufficientFundsError(
            f"{kind} needs {amount} micro-dollars available; {have} are", field="units"
        )
    uow.ledger.move((payer, AVAILABLE), (payee, AVAILABLE), amount, kind)
    uow.ledger.post(kind, account_id=ap, ref=symbol)


def _free(uow: UnitOfWork, fund: str, amount: int) -> None:
    """Bring the fund's available cash up to ``amount`` from its margin (the strip it gave up freed it)."""
    short = amount - uow.ledger.balance(fund, AVAILABLE)
    if short > 0:
        uow.ledger.move((fund, MARGIN), (fund, AVAILABLE), min(short, uow.ledger.balance(fund, MARGIN)))


def _units(uow: UnitOfWork, unit: Instrument, n: int, nav: int, *, buyer: str, seller: str) -> None:
    """Issue (the fund sells) or cancel (the fund buys back) ``n`` units at the NAV."""
    transfer(uow, unit, n, nav // unit.tick_micros, n * nav, buyer=buyer, seller=seller)


def _move_strip(
    uow: UnitOfWork, trading: Trading, legs: list, ticks: dict[str, int], n: int, *, giver: str, taker: str
) -> None:
    """Move ``n`` units' strip from ``giver`` to ``taker`` at the marks; the giver must hold it unoffered
    and the taker must be able to hold its margin."""
    for leg in legs:
        inst, lots = trading.instrument(leg.symbol), n * leg.lots
        free = trading.sellable_notes(uow, leg.symbol, giver)
        if lots > free:
            raise InventoryExceededError(
                f"the strip needs {lots} lots of {leg.symbol} held and not offered; {free} are", field="units"
            )
        price = ticks[leg.symbol]
        transfer(uow, inst, lots, price, lots * price * inst.multiplier, buyer=taker, seller=giver)
        position = uow.position(taker, leg.symbol)
        if position["margin_micros"] < margin.required(inst, position["qty"]):
            raise InsufficientFundsError(
                f"holding {leg.symbol}'s margin needs more cash available", field="units"
            )


def transfer(
    uow: UnitOfWork, inst: Instrument, qty: int, price: int, notional: int, *, buyer: str, seller: str
) -> None:
    """Book a ``basket`` trade: ``qty`` lots of ``inst`` from ``seller`` to ``buyer`` at ``price`` ticks for
    ``notional`` (no fees, no engine: a creation's, redemption's or wind-up's move, not a market trade)."""
    book_trade(
        uow,
        inst,
        {
            "price_ticks": price,
            "qty": qty,
            "maker_order_id": BASKET,
            "taker_order_id": BASKET,
            "buyer_id": buyer,
            "seller_id": seller,
            "taker_side": "buy",
            "notional_micros": notional,
            "buyer_fee_micros": 0,
            "seller_fee_micros": 0,
            "escrow_micros": 0,
            "engine_seq": 0,
        },
    )


def _trade_strip(
    uow: UnitOfWork, trading: Trading, row: sa.Row, legs: list, ticks: dict[str, int], n: int, side: str
) -> int:
    """The fund buys or sells ``n`` units' strip on the books, fill-or-kill within the price limit;
    returns what the trades cost beyond the marks (their price and fees)."""
    costs = 0
    for leg in legs:
        inst, lots, mark = trading.instrument(leg.symbol), n * leg.lots, ticks[leg.symbol]
        band = mark * row.slippage_ppm
        limit = mark + band // 1_000_000 if side == "buy" else mark - -(-band // 1_000_000)
        position = uow.position(row.fund_id, leg.symbol)
        before = position["qty"], position["cost_micros"], position["fees_due_micros"]
        request = OrderRequest(symbol=leg.symbol, side=side, qty=lots, price_ticks=max(limit, 1), tif="fok")
        order = trading.new_order(uow, row.fund_id, ("trader",), request)
        if order["status"] != "filled":
            raise InsufficientDepthError(
                f"the books cannot {side} {lots} lots of {leg.symbol} "
                f"within {row.slippage_ppm} ppm of its mark"
            )
        position = uow.position(row.fund_id, leg.symbol)
        bought = position["qty"] - before[0]
        costs += position["cost_micros"] - before[1] - bought * mark * inst.multiplier
        costs += position["fees_due_micros"] - before[2]
    return costs


def _info(symbol: str, row: sa.Row) -> FlowInfo:
    return FlowInfo(
        row.id,
        symbol,
        row.account_id,
        row.action,
        row.method,
        row.units,
        row.nav_micros,
        row.cash_micros,
        row.fee_micros,
        row.costs_micros,
        row.idempotency_key,
        from_epoch_us(row.created_us),
    )
