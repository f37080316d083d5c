"""Expiry, delivery, cash settlement and exercise: the end of every contract.

One run (:func:`run`) does, in one transaction, whatever is due at ``now``; each step moves an
instrument to its next status, so running it twice changes nothing the second time. Within a run,
expiries come first, then exercises, then deliveries and cash settlements (so a late run settles the
forward positions an exercise just created).

1. **Expiry** (``open``/``halted`` -> ``expired``): at the expiry instant (delivery start for forwards
   and Asian options, n business days before delivery for European options) every live order is
   cancelled and its hold released.
2. **Physical delivery** (forward -> ``settled`` at delivery start). Allocation rule: the net long
   positions, in ascending account id, take GPUs from the net short providers, in ascending account
   id, each provider's GPUs coming from the listings covering the window, best fit first (shortest
   listing window, then oldest), each giving the GPUs it has not yet delivered on any day of the
   window to an overlapping forward; each (buyer, listing) pair is one delivery record. Every
   physical trade's escrow (notional less the seller's fee) is then paid to its seller.
3. **Cash settlement** (cash forward -> ``settled`` at window end, once the index has a fixing in the
   window): at the index average ``S`` each position receives ``qty x S x GPU-hours - cost`` (its
   profit less the variation margin it already received; a loss is paid), after its margin is
   released, and pays its fees due. A loser who cannot pay in full pays what it has; the shortfall
   runs through the default waterfall (:mod:`market.clearing.waterfall`), each step a transfer.
4. **European exercise** (option -> ``settled`` at expiry): at the product model's forward ``F`` for the
   window as of the expiry instant (a run that comes late -- a server that was down -- still exercises
   on what was known at expiry, never on later fixings), an in-the-money option (call: ``F > K``;
   put: ``F < K``) becomes forward positions at the strike: holders, in ascending account id, are
   paired with writers, in ascending account id, and each pair books an exercise trade in the
   underlying (call holders buy, put holders sell). Writers'
   option margin is released and the new forward positions hold forward margin.
5. **Asian settlement** (Asian option -> ``settled`` at window end, with the index average ``A``): each
   position receives ``qty x max(A - K, 0) x GPU-hours`` (puts: ``max(K - A, 0)``), writers paying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from market import index, marks
from market.clearing import waterfall
from market.errors import NoMarkError
from market.ledger import AVAILABLE, ESCROW, FEES, MARGIN, SETTLEMENT, SYSTEM, Ledger
from market.listings import whole_days
from market.records import SettlementReport
from market.store import UnitOfWork
from market.tables import EXERCISE, Delivery, Instrument, Listing, Position, Trade
from market.trading import Trading, book_trade, multiplier

if TYPE_CHECKING:
    from market.house import House

_instruments = Instrument.__table__
_positions = Position.__table__
_trades = Trade.__table__
_listings = Listing.__table__
_deliveries = Delivery.__table__


def settle(house: House) -> SettlementReport:
    """Run every expiry, delivery, cash settlement and exercise that is due now (idempotent)."""
    with house.transaction() as uow:
        return run(uow, house.books())


def run(uow: UnitOfWork, trading: Trading) -> SettlementReport:
    """Do every settlement step that is due at the unit of work's time."""
    now = uow.now_us
    expired, delivered, cash, exercised = [], [], [], []
    for symbol, inst in sorted(trading.instruments.items()):
        if inst["status"] in ("open", "halted") and now >= inst["expiry_us"]:
            trading.cancel_book(uow, symbol, "instrument_expired")
            _set(uow, inst, status="expired")
            expired.append(symbol)
    uow.ledger.post("expiry")
    for symbol, inst in sorted(trading.instruments.items()):
        if inst["status"] == "expired" and inst["kind"] == "option" and _exercise(uow, trading, inst):
            exercised.append(symbol)
            uow.ledger.post("exercise", ref=symbol)
    uow.flush()  # exercised positions must be visible to the settlements below
    for symbol, inst in sorted(trading.instruments.items()):
        if inst["status"] != "expired" or inst["kind"] in ("option", "note"):
            continue  # options were exercised above; pool notes are paid by their pool's servicing
        if inst["kind"] == "forward" and inst["settlement"] == "physical":
            if now >= inst["window_start_us"]:
                _deliver(uow, inst)
                delivered.append(symbol)
        elif now >= inst["window_end_us"]:
            average = index.average(
                uow.connection, inst["product"], inst["window_start_us"], inst["window_end_us"]
            )
            if average is not None:
                _settle_cash(uow, inst, average)
                index.record_settlement(
                    uow.connection, symbol, inst["product"], inst["window_start_us"], inst["window_end_us"]
                )
                cash.append(symbol)
        uow.ledger.post("settlement", ref=symbol)
    return SettlementReport(tuple(expired), tuple(delivered), tuple(cash), tuple(exercised))


def _set(uow: UnitOfWork, inst: dict, **values: object) -> None:
    uow.connection.execute(
        _instruments.update().where(_instruments.c.symbol == inst["symbol"]).values(**values)
    )
    inst.update(values)


def _net_positions(uow: UnitOfWork, symbol: str) -> list[sa.Row]:
    return list(
        uow.connection.execute(
            sa.select(_positions).where(_positions.c.symbol == symbol).order_by(_positions.c.account_id)
        )
    )


def _free_listings(connection: sa.Connection, provider_id: str, inst: dict) -> list[tuple[int, int]]:
    """The provider's listings that can deliver ``inst``, best fit first, with their GPUs not yet
    delivered on any day of its window (overlapping forwards draw on the same listings)."""
    start, end = inst["window_start_us"], inst["window_end_us"]
    candidates = connection.execute(
        sa.select(_listings.c.id, _listings.c.gpus)
        .where(
            _listings.c.provider_id == provider_id,
            _listings.c.product == inst["product"],
            _listings.c.window_start_us <= start,
            _listings.c.window_end_us >= end,
        )
        .order_by(_listings.c.window_end_us - _listings.c.window_start_us, _listings.c.id)
    ).all()
    delivered = connection.execute(
        sa.select(
            _deliveries.c.listing_id,
            _deliveries.c.gpus,
            _deliveries.c.window_start_us,
            _deliveries.c.window_end_us,
        ).where(
            _deliveries.c.listing_id.in_([c.id for c in candidates]),
            _deliveries.c.window_start_us < end,
            _deliveries.c.window_end_us > start,
        )
    ).all()
    free = []
    for candidate in candidates:
        busiest = max(
            (
                sum(
                    d.gpus
                    for d in delivered
                    if d.listing_id == candidate.id and d.window_start_us <= day < d.window_end_us
                )
                for day in whole_days(start, end)
            ),
            default=0,
        )
        free.append((candidate.id, candidate.gpus - busiest))
    return free


def _deliver(uow: UnitOfWork, inst: dict) -> None:
    positions = _net_positions(uow, inst["symbol"])
    longs = [[p.account_id, p.qty * inst["lot_gpus"]] for p in positions if p.qty > 0]
    supply = []
    for p in positions:
        if p.qty >= 0:
            continue
        owed = -p.qty * inst["lot_gpus"]
        for listing_id, free in _free_listings(uow.connection, p.account_id, inst):
            take = min(owed, free)
            if take:
                supply.append([p.account_id, listing_id, take])
                owed -= take
    records = []
    li = si = 0
    while li < len(longs) and si < len(supply):
        gpus = min(longs[li][1], supply[si][2])
        records.append(
            {
                "symbol": inst["symbol"],
                "buyer_id": longs[li][0],
                "provider_id": supply[si][0],
                "listing_id": supply[si][1],
                "gpus": gpus,
                "window_start_us": inst["window_start_us"],
                "window_end_us": inst["window_end_us"],
                "created_us": uow.now_us,
            }
        )
        longs[li][1] -= gpus
        supply[si][2] -= gpus
        li += longs[li][1] == 0
        si += supply[si][2] == 0
    if records:
        uow.connection.execute(_deliveries.insert(), records)
    owed_trades = uow.connection.execute(
        sa.select(_trades.c.id, _trades.c.seller_id, _trades.c.escrow_micros).where(
            _trades.c.symbol == inst["symbol"], ~_trades.c.released
        )
    ).all()
    for trade in owed_trades:
        uow.ledger.move((SYSTEM, ESCROW), (trade.seller_id, AVAILABLE), trade.escrow_micros)
    if owed_trades:
        uow.connection.execute(
            _trades.update().where(_trades.c.id.in_([t.id for t in owed_trades])).values(released=True)
        )
    _set(uow, inst, status="settled")


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


def _settle_cash(uow: UnitOfWork, inst: dict, average: int) -> None:
    gpu_hours = multiplier(inst) // inst["tick_micros"]
    shortfalls = []
    for row in _net_positions(uow, inst["symbol"]):
        position = uow.position(row.account_id, row.symbol)
        _release_margin(uow, position)
        if inst["kind"] == "forward":
            due = row.qty * average * gpu_hours - row.cost_micros - position["variation_micros"]
            shortfalls.append((row.account_id, _pay(uow.ledger, row.account_id, due)))
            position["variation_micros"] += due
            fees = min(position["fees_due_micros"], uow.ledger.balance(row.account_id, AVAILABLE))
            uow.ledger.move((row.account_id, AVAILABLE), (SYSTEM, FEES), fees)
            position["fees_due_micros"] -= fees
        else:
            strike = inst["strike_ticks"] * inst["tick_micros"]
            payoff = average - strike if inst["option_kind"] == "call" else strike - average
            shortfalls.append(
                (row.account_id, _pay(uow.ledger, row.account_id, row.qty * max(payoff, 0) * gpu_hours))
            )
    uow.ledger.post("settlement", ref=inst["symbol"])
    for account, short in shortfalls:
        if short:
            waterfall.cover(uow, account, short, inst["symbol"])
    _set(uow, inst, status="settled", settle_price_micros=average)


def _exercise(uow: UnitOfWork, trading: Trading, inst: dict) -> bool:
    try:
        _, result = marks.price(uow.connection, inst, inst["expiry_us"])  # as of expiry, however late
    except NoMarkError:
        return False  # no fixings yet: exercise waits for a mark
    forward = round(result["forward"] * 1e6)
    strike = inst["strike_ticks"] * inst["tick_micros"]
    call = inst["option_kind"] == "call"
    in_the_money = forward > strike if call else forward < strike
    positions = _net_positions(uow, inst["symbol"])
    for row in positions:
        _release_margin(uow, uow.position(row.account_id, row.symbol))
    underlying = trading.instruments[inst["underlying"]]
    if in_the_money:
        holders = [[p.account_id, p.qty] for p in positions if p.qty > 0]
        writers = [[p.account_id, -p.qty] for p in positions if p.qty < 0]
        hi = wi = 0
        while hi < len(holders) and wi < len(writers):
            qty = min(holders[hi][1], writers[wi][1])
            buyer, seller = (holders[hi][0], writers[wi][0]) if call else (writers[wi][0], holders[hi][0])
            _exercise_trade(uow, underlying, buyer, seller, qty, inst["strike_ticks"], inst["symbol"])
            holders[hi][1] -= qty
            writers[wi][1] -= qty
            hi += holders[hi][1] == 0
            wi += writers[wi][1] == 0
    _set(uow, inst, status="settled", settle_price_micros=forward)
    return True


def _exercise_trade(
    uow: UnitOfWork, underlying: dict, buyer: str, seller: str, qty: int, price: int, option: str
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
            "notional_micros": price * qty * multiplier(underlying),
            "buyer_fee_micros": 0,
            "seller_fee_micros": 0,
            "escrow_micros": 0,
            "engine_seq": 0,
        },
    )
