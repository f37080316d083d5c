"""The liquidation engine: reduce an account past its margin call's deadline, through the book.

For a liquidating call, each pass:

1. cancels the account's live orders (their holds return to ``available``) and frees its margin for
   the pass (the pass re-holds the requirement of what is left afterwards);
2. for each margined position, in symbol order, sends one **slice**: a reduce-only IOC limit order for
   ``SLICE`` (25%) of the position (at least one lot), never more than the other side of the book
   offers inside the **price band** ``[mark x (1 - BAND), mark x (1 + BAND)]`` (BAND = 10%), with
   its limit at the band's far edge. A sell is sent only if the best bid is inside the band (a buy:
   the best ask), so every fill is inside the band: the engine never sells at any price.
3. records each slice (:class:`market.tables.Liquidation`) with its band and fills.

A book with nothing inside the band gets no order this pass; the call stays ``liquidating`` and the
next pass (a new mark, a new band) tries again. Slices keep one pass from dumping a whole position on
a thin book.
"""

from __future__ import annotations

import math

from market.clearing.valuation import Mark
from market.engine import MatchingEngine
from market.errors import MarketError
from market.instruments import Instrument
from market.ledger import AVAILABLE, MARGIN
from market.records import OrderRequest
from market.store import UnitOfWork
from market.tables import Liquidation
from market.trading import Trading

BAND = 0.10
SLICE = 0.25
_liquidations = Liquidation.__table__


def band(mark_micros: int, tick_micros: int) -> tuple[int, int]:
    """The band around a mark, in ticks: ``(lowest sell price, highest buy price)``."""
    return math.ceil(mark_micros * (1 - BAND) / tick_micros), math.floor(
        mark_micros * (1 + BAND) / tick_micros
    )


def offered_inside(
    engine: MatchingEngine, symbol: str, side: str, low: int, high: int, account_id: str
) -> int:
    """Lots other accounts offer to a ``side`` order at prices inside ``[low, high]``, 0 if the best
    price is outside."""
    levels = engine.snapshot(symbol)["bids" if side == "sell" else "asks"]
    if not levels or not low <= levels[0]["price"] <= high:
        return 0
    return sum(
        o["qty"]
        for level in levels
        if low <= level["price"] <= high
        for o in level["orders"]
        if o["account"] != account_id
    )


def slice_lots(qty: int, offered: int, fraction: float = SLICE) -> int:
    """This pass's slice of a position of ``qty`` lots: ``fraction`` of it (``SLICE`` on the exchange;
    the stress lab compares others), at least one lot, never more than the position nor than the
    ``offered`` lots inside the band."""
    return min(max(1, math.ceil(abs(qty) * fraction)), abs(qty), offered)


def liquidate(
    uow: UnitOfWork,
    trading: Trading,
    call_id: int,
    account_id: str,
    positions: list[tuple[Instrument, dict]],
    marks: dict[str, Mark],
) -> dict[str, int]:
    """Send this pass's slices for ``account_id``; returns the lots filled per symbol slices were sent in."""
    cancel_orders(uow, trading, account_id)
    uow.ledger.move((account_id, MARGIN), (account_id, AVAILABLE), uow.ledger.balance(account_id, MARGIN))
    uow.ledger.post("liquidation", account_id=account_id)
    for _, position in positions:
        position["margin_micros"] = 0
    return send_slices(uow, trading, positions, marks, call=(call_id, account_id))


def cancel_orders(uow: UnitOfWork, trading: Trading, account_id: str, symbols: set[str] | None = None) -> int:
    """Cancel the account's live orders (in ``symbols`` only, when given); returns how many."""
    cancelled = 0
    for order_id in [
        oid
        for oid, o in trading.live.items()
        if o["account_id"] == account_id and (symbols is None or o["symbol"] in symbols)
    ]:
        order = trading.live.get(order_id)
        if order is None:  # the other leg of a one-cancels-other pair, cancelled with the first
            continue
        trading.apply(uow, {"op": "cancel", "symbol": order["symbol"], "id": order_id, "account": account_id})
        order["reason"] = "liquidation"
        uow.ledger.post("cancel", account_id=account_id, ref=order_id)
        cancelled += 1
    return cancelled


def send_slices(
    uow: UnitOfWork,
    trading: Trading,
    positions: list[tuple[Instrument, dict]],
    marks: dict[str, Mark],
    *,
    call: tuple[int, str],
) -> dict[str, int]:
    """One reduce-only IOC slice per position inside its band, recorded; the lots filled per symbol.
    ``call``: the margin call's id and account."""
    call_id, account_id = call
    filled: dict[str, int] = {}
    for inst, position in sorted(positions, key=lambda ip: ip[0].symbol):
        mark = marks.get(inst.symbol)
        qty = position["qty"]
        if mark is None or qty == 0 or not inst.margined or inst.status != "open":
            continue
        if uow.now_us >= inst.expiry_us or inst.symbol in trading.refused:
            continue
        low, high = band(mark.value_micros, inst.tick_micros)
        side = "sell" if qty > 0 else "buy"
        offered = offered_inside(trading.engine, inst.symbol, side, low, high, account_id)
        lots = slice_lots(qty, offered)
        if lots == 0 or low <= 0:
            continue
        request = OrderRequest(
            inst.symbol,
            side,
            lots,
            "limit",
            price_ticks=low if side == "sell" else high,
            tif="ioc",
            reduce_only=True,
        )
        try:
            row = trading.new_order(uow, account_id, ("trader",), request)
        except MarketError:
            continue  # e.g. the premium of a buy-back exceeds the account's cash: the next pass retries
        uow.connection.execute(
            _liquidations.insert().values(
                call_id=call_id,
                account_id=account_id,
                symbol=inst.symbol,
                order_id=row["id"],
                side=side,
                qty=lots,
                filled=row["filled"],
                mark_ticks=round(mark.value_micros / inst.tick_micros),
                band_low_ticks=low,
                band_high_ticks=high,
                created_us=uow.now_us,
            )
        )
        filled[inst.symbol] = row["filled"]
    return filled
