"""Expiry, delivery, cash settlement and exercise: the end of every contract.

One run (:func:`run`) does, in one transaction, whatever is due at ``now``; each step moves an
instrument to its next status, so running it twice changes nothing the second time. Within a run,
expiries come first, then exercises, then deliveries and cash settlements (so a late run settles the
forward positions an exercise just created).

1. **Expiry** (``open``/``halted`` -> ``expired``): at the expiry instant (delivery start for forwards
   and Asian options, n business days before delivery for European options) every live order is
   cancelled and its hold released.
2. **Physical delivery** (forward -> ``settled`` at delivery start): whoever holds a net long position
   then receives GPUs from the net short providers' listings, every buyer in proportion from every
   supplying listing, and the escrow moves onto delivery days released one by one
   (:mod:`market.delivery`).
3. **Cash settlement** (cash forward -> ``settled`` at window end, once the index has a fixing in the
   window): at the index average ``S`` each position receives ``qty x S x GPU-hours - cost`` less
   the variation margin it already received (a loss is paid), after its margin is released, and
   pays its fees due. A loser who cannot pay in full pays what it has; the shortfall runs through
   the default waterfall (:mod:`market.clearing.waterfall`), each step a transfer.
4. **European exercise** (option -> ``settled`` at expiry): the exercise settlement price ``X`` is the
   product model's forward for the window as of the expiry instant (a run that comes late -- a
   server that was down -- still exercises on what was known at expiry, never on later fixings),
   rounded to the tick. Options are futures-style (:mod:`market.contracts`), so, as for a cash
   forward, each position receives ``qty x payoff(X) x GPU-hours - cost - variation received``
   (call: ``max(X - K, 0)``; put: ``max(K - X, 0)``) and pays its fees due; an in-the-money option
   then becomes forward positions **at X** (as on Eurex: the option's value has been paid in cash,
   so the forward starts at the market): holders, in ascending account id, are paired with writers,
   in ascending account id, and each pair books an exercise trade in the underlying (call holders
   buy, put holders sell) that holds forward margin.
5. **Asian settlement** (Asian option -> ``settled`` at window end, with the index average ``A``): each
   position receives ``qty x payoff(A) x GPU-hours - cost - variation received``, writers paying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import delivery, index, marks
from market.clearing import waterfall
from market.errors import NoMarkError
from market.instruments import Instrument
from market.ledger import AVAILABLE, FEES, MARGIN, SETTLEMENT, SYSTEM, Ledger
from market.margin import book_trade
from market.records import SettlementReport
from market.store import UnitOfWork
from market.tables import EXERCISE, Position
from market.tables import Instrument as InstrumentTable
from market.trading import Trading

if TYPE_CHECKING:
    from market.house import House

_instruments = InstrumentTable.__table__
_positions = Position.__table__


def settle(house: House) -> SettlementReport:
    """Run every expiry, delivery, cash settlement and exercise that is due now (idempotent)."""
    with house.transaction() as uow:
        return run(uow, house.books())


def run(uow: UnitOfWork, trading: Trading) -> SettlementReport:
    """Do every settlement step that is due at the unit of work's time."""
    now = uow.now_us
    expired, delivered, cash, exercised = [], [], [], []
    for symbol, inst in sorted(trading.instruments.items()):
        if inst.status in ("open", "halted") and now >= inst.expiry_us:
            trading.cancel_book(uow, symbol, "instrument_expired")
            _set(uow, trading, symbol, status="expired")
            expired.append(symbol)
    uow.ledger.post("expiry")
    for symbol, inst in sorted(trading.instruments.items()):
        if inst.status == "expired" and inst.kind == "option" and _exercise(uow, trading, inst):
            exercised.append(symbol)
            uow.ledger.post("exercise", ref=symbol)
    uow.flush()  # exercised positions must be visible to the settlements below
    for symbol, inst in sorted(trading.instruments.items()):
        if inst.status != "expired" or inst.kind in ("option", "note", "unit"):
            continue  # options were exercised above; notes and units are paid by their pool or fund
        if inst.is_physical:
            if now >= inst.window_start_us:
                delivery.allocate(uow, inst)
                _set(uow, trading, symbol, status="settled")
                delivered.append(symbol)
        elif now >= inst.window_end_us:
            average = index.average(uow.connection, inst.product, inst.window_start_us, inst.window_end_us)
            if average is not None:
                _settle_positions(uow, inst, average)
                _set(uow, trading, symbol, status="settled", settle_price_micros=average)
                index.record_settlement(
                    uow.connection, symbol, inst.product, inst.window_start_us, inst.window_end_us
                )
                cash.append(symbol)
        uow.ledger.post("settlement", ref=symbol)
    return SettlementReport(tuple(expired), tuple(delivered), tuple(cash), tuple(exercised))


def _set(uow: UnitOfWork, trading: Trading, symbol: str, **values: object) -> None:
    """Change an instrument's columns, in the database and in the books' copy."""
    uow.connection.execute(_instruments.update().where(_instruments.c.symbol == symbol).values(**values))
    trading.revise(symbol, **values)


def _net_positions(uow: UnitOfWork, symbol: str) -> list[sa.Row]:
    return list(
        uow.connection.execute(
            sa.select(_positions).where(_positions.c.symbol == symbol).order_by(_positions.c.account_id)
        )
    )


def _pay(ledger: Ledger, account: str, amount: int) -> int:
    """Pay ``amount`` (positive: to the account; negative: from it, as far as its cash goes); returns
    the part of a loss the account could not pay (for the default waterfall)."""
    short = 0
    if amount < 0:
        short = -amount - min(-amount, ledger.balance(account, AVAILABLE))
        amount += short
    ledger.move((SYSTEM, SETTLEMENT), (account, AVAILABLE), amount)
    return short


def _release_margin(uow: UnitOfWork, position: dict) -> None:
    uow.ledger.move(
        (position["account_id"], MARGIN), (position["account_id"], AVAILABLE), position["margin_micros"]
    )
    position["margin_micros"] = 0


def _settle_positions(uow: UnitOfWork, inst: Instrument, price_micros: int) -> None:
    """The last cash of every position in the cash forward or option ``inst``: its margin released,
    ``qty x payoff x GPU-hours - cost - variation received`` paid (so its life's total is exactly
    payoff less price), its fees due collected; shortfalls run through the waterfall."""
    gpu_hours = inst.gpu_hours
    paid = inst.payoff(price_micros)
    shortfalls = []
    for row in _net_positions(uow, inst.symbol):
        position = uow.position(row.account_id, row.symbol)
        _release_margin(uow, position)
        due = row.qty * paid * gpu_hours - row.cost_micros - position["variation_micros"]
        shortfalls.append((row.account_id, _pay(uow.ledger, row.account_id, due)))
        position["variation_micros"] += due
        fees = min(position["fees_due_micros"], uow.ledger.balance(row.account_id, AVAILABLE))
        uow.ledger.move((row.account_id, AVAILABLE), (SYSTEM, FEES), fees)
        position["fees_due_micros"] -= fees
    uow.ledger.post("settlement", ref=inst.symbol)
    for account, short in shortfalls:
        if short:
            waterfall.cover(uow, account, short, inst.symbol)


def _exercise(uow: UnitOfWork, trading: Trading, inst: Instrument) -> bool:
    try:
        _, result = marks.price(uow.connection, inst, inst.expiry_us)  # as of expiry, however late
    except NoMarkError:
        return False  # no fixings yet: exercise waits for a mark
    tick = inst.tick_micros
    price_ticks = (2 * round(result["forward"] * 1e6) + tick) // (2 * tick)  # the forward, on the tick
    _settle_positions(uow, inst, price_ticks * tick)
    if inst.payoff(price_ticks * tick) > 0:
        positions = _net_positions(uow, inst.symbol)
        holders = [[p.account_id, p.qty] for p in positions if p.qty > 0]
        writers = [[p.account_id, -p.qty] for p in positions if p.qty < 0]
        call = inst.option_kind == "call"
        underlying = trading.instruments[inst.underlying]
        hi = wi = 0
        while hi < len(holders) and wi < len(writers):
            qty = min(holders[hi][1], writers[wi][1])
            buyer, seller = (holders[hi][0], writers[wi][0]) if call else (writers[wi][0], holders[hi][0])
            _exercise_trade(uow, underlying, buyer, seller, qty, price_ticks, inst.symbol)
            holders[hi][1] -= qty
            writers[wi][1] -= qty
            hi += holders[hi][1] == 0
            wi += writers[wi][1] == 0
    _set(uow, trading, inst.symbol, status="settled", settle_price_micros=price_ticks * tick)
    return True


def _exercise_trade(
    uow: UnitOfWork, underlying: Instrument, buyer: str, seller: str, qty: int, price: int, option: str
) -> None:
    book_trade(
        uow,
        underlying,
        {
            "price_ticks": price,
            "qty": qty,
            "maker_order_id": EXERCISE,
            "taker_order_id": option[-32:],
            "buyer_id": buyer,
            "seller_id": seller,
            "taker_side": "buy",
            "notional_micros": price * qty * underlying.multiplier,
            "buyer_fee_micros": 0,
            "seller_fee_micros": 0,
            "escrow_micros": 0,
            "engine_seq": 0,
        },
    )
