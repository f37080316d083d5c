"""Futures-style options through the service (SQLite and PostgreSQL): no premium at the trade, variation
margin on the option's mark at every pass, and an expiry that pays the rest, so that over a life a
position receives exactly ``qty x (payoff - price) x GPU-hours``, to the micro-dollar."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market import db
from market.service import Exchange
from migrations import commands as migrate
from tests.market.conftest import DECEMBER, JANUARY, Clock
from tests.market.test_clearing import USD, Desk, order

JANUARY_HOURS = 744  # January 2027
DECEMBER_HOURS = 744
JAN = "A100-2027-01"  # cash-settled; its European options expire 2026-12-30, before delivery


@pytest.fixture
def desk(exchange: Exchange, clock: Clock) -> Desk:
    return Desk(exchange, clock, {"buyer": 10_000 * USD, "seller": 10_000 * USD})


def received(desk: Desk, account: str) -> int:
    """Variation margin plus final settlement an account received (paid: negative)."""
    return desk.kinds(desk[account], "variation") + desk.kinds(desk[account], "settlement")


def test_european_call_hand_worked_trade_two_marks_and_exercise(desk: Desk) -> None:
    """2 lots of the January 1.50 call bought at 0.10: no cash at the trade, two passes pay the mark's
    moves, exercise pays the rest; the sum is 2 x (payoff - 0.10) x 744 exactly."""
    ex, clock = desk.ex, desk.clock
    call = ex.create_option(JAN, "call", 1500)
    assert call.expiry.date().isoformat() == "2026-12-30"  # two business days before delivery
    ex.refresh_marks()
    cash = {a: ex.balances(desk[a]).cash for a in ("buyer", "seller")}
    ex.place_order(desk["seller"], order(call.symbol, "sell", 2, 100))
    ex.place_order(desk["buyer"], order(call.symbol, "buy", 2, 100))
    for account in ("buyer", "seller"):  # no premium moved; both sides hold initial margin
        assert ex.balances(desk[account]).cash == cash[account]
        assert ex.balances(desk[account]).margin > 0
    cost = 2 * 100 * 1000 * JANUARY_HOURS  # USD 148.80
    values = []
    for hours, fixing in ((1, 1_600_000), (2, 1_550_000)):
        clock.now = desk.clock.now + timedelta(hours=hours)
        desk.fix(fixing)
        paid_before = received(desk, "buyer")
        ex.remargin()
        values.append(ex.mark(call.symbol, greeks=False).fair_value_micros)
        assert received(desk, "buyer") == 2 * values[-1] * JANUARY_HOURS - cost  # settled to the mark
        assert received(desk, "seller") == -received(desk, "buyer")
        assert received(desk, "buyer") != paid_before
        desk.check()
    [position] = [p for p in ex.positions(desk["buyer"]) if p.symbol == call.symbol]
    assert position.variation_micros == 2 * values[-1] * JANUARY_HOURS - cost
    clock.now = call.expiry
    report = ex.settle()
    assert call.symbol in report.exercised
    settle = ex.instrument(call.symbol).settle_price_micros
    assert settle == 1_550_000  # the (driftless) forward at expiry: the last index level, on the tick
    assert received(desk, "buyer") == 2 * (50_000 - 100_000) * JANUARY_HOURS == -74_400_000  # USD -74.40
    assert received(desk, "seller") == 74_400_000
    # the exercise opened the forward at the exercise price: its value was paid as the option's
    forward = {p.symbol: p for p in ex.positions(desk["buyer"])}[JAN]
    assert (forward.qty, forward.cost_micros) == (2, 2 * settle * JANUARY_HOURS)
    assert ex.fills(desk["buyer"])[-1].price_ticks == settle // 1000
    for account in ("buyer", "seller"):  # nothing left on the option: its margin is released
        option = {p.symbol: p for p in ex.positions(desk[account], state="closed")}[call.symbol]
        assert option.margin_micros == 0
    assert ex.settle().exercised == ()
    desk.check()


def test_out_of_the_money_put_expires_and_the_writer_keeps_the_price(desk: Desk) -> None:
    ex, clock = desk.ex, desk.clock
    put = ex.create_option(JAN, "put", 1400)
    ex.refresh_marks()
    ex.place_order(desk["seller"], order(put.symbol, "sell", 3, 20))
    ex.place_order(desk["buyer"], order(put.symbol, "buy", 3, 20))
    clock.advance(hours=1)
    ex.remargin()
    clock.now = put.expiry
    assert put.symbol in ex.settle().exercised
    assert received(desk, "buyer") == -3 * 20_000 * JANUARY_HOURS  # the whole price, no more
    assert received(desk, "seller") == 3 * 20_000 * JANUARY_HOURS
    assert JAN not in {p.symbol for p in ex.positions(desk["buyer"])}  # nothing exercised
    desk.check()


def test_asian_call_settles_its_mark_daily_and_the_average_at_the_month_end(desk: Desk) -> None:
    """December's Asian call, marked before and during its window, settled against the average."""
    ex, clock = desk.ex, desk.clock
    asian = ex.create_option("A100-2026-12", "call", 1500, style="asian")
    ex.refresh_marks()
    ex.place_order(desk["seller"], order(asian.symbol, "sell", 1, 80))
    ex.place_order(desk["buyer"], order(asian.symbol, "buy", 1, 80))
    clock.advance(hours=1)
    desk.fix(1_520_000)
    ex.remargin()
    clock.now = DECEMBER + timedelta(days=10)  # inside the window, the option expired (no trading)
    ex.add_fixings("A100", [(DECEMBER + timedelta(days=d), 1_560_000) for d in range(10)], "test")
    ex.settle()
    ex.remargin()
    assert (
        received(desk, "buyer") == ex.mark(asian.symbol, greeks=False).fair_value_micros * 744 - 80_000 * 744
    )
    clock.now = JANUARY  # the month end: December's fixings are all in
    ex.add_fixings("A100", [(DECEMBER + timedelta(days=d), 1_600_000) for d in range(10, 31)], "test")
    assert asian.symbol in ex.settle().cash_settled
    average = ex.instrument(asian.symbol).settle_price_micros
    assert received(desk, "buyer") == (average - 1_500_000 - 80_000) * DECEMBER_HOURS
    assert received(desk, "seller") == -received(desk, "buyer")
    desk.check()


def test_a_long_call_holds_margin_and_a_round_trip_realises_through_variation(desk: Desk) -> None:
    """The holder risks the mark value, so it holds margin too; closing the position moves no cash
    at the trade and the next pass pays the round trip's profit."""
    ex, clock = desk.ex, desk.clock
    call = ex.create_option(JAN, "call", 1500)
    ex.refresh_marks()
    per_lot = ex.instrument(call.symbol).margin_per_lot_micros
    ex.place_order(desk["seller"], order(call.symbol, "sell", 1, 100))
    ex.place_order(desk["buyer"], order(call.symbol, "buy", 1, 100))
    assert ex.balances(desk["buyer"]).margin == per_lot
    ex.remargin()
    [margin] = ex.margins(desk["buyer"])
    assert 0 < margin.required_micros <= per_lot  # the portfolio scan; no option value netted
    assert margin.option_value_micros == 0
    ex.place_order(desk["seller"], order(call.symbol, "buy", 1, 130))
    ex.place_order(desk["buyer"], order(call.symbol, "sell", 1, 130))
    clock.advance(hours=1)
    ex.remargin()
    assert received(desk, "buyer") == 30_000 * JANUARY_HOURS  # (0.13 - 0.10) x 744
    assert received(desk, "seller") == -30_000 * JANUARY_HOURS
    assert ex.balances(desk["buyer"]).margin == 0
    desk.check()


def test_the_migration_records_premium_style_cash_as_variation(db_url: str, clock: Clock) -> None:
    """Revision f3a1c5e7b9d2 on a database holding option positions (stepped down to before it and up
    again): a settled Asian one records its price and payoff -- what futures-style settlement itself
    recorded, so nothing changes there -- any other its price as cash paid (``-cost``)."""
    engine = db.make_engine(db_url)
    ex = Exchange(engine, clock=clock)
    ex.start()
    try:
        desk = Desk(ex, clock, {"buyer": 10_000 * USD, "seller": 10_000 * USD})
        asian = ex.create_option("A100-2026-12", "call", 1500, style="asian")
        call = ex.create_option(JAN, "call", 1500)
        ex.refresh_marks()
        for symbol in (asian.symbol, call.symbol):
            ex.place_order(desk["seller"], order(symbol, "sell", 1, 80))
            ex.place_order(desk["buyer"], order(symbol, "buy", 1, 80))
        clock.now = JANUARY
        ex.add_fixings("A100", [(DECEMBER + timedelta(days=d), 1_600_000) for d in range(31)], "test")
        ex.settle()  # the Asian call settles; the January call has expired and is exercised
        settled = {p.account_id: p.variation_micros for p in _positions(ex, desk, asian.symbol)}
        assert settled[desk["buyer"]] == (100_000 - 80_000) * DECEMBER_HOURS
    finally:
        ex.close()
    migrate.downgrade(db_url, "a9d3f1b7c254")  # the revision before f3a1c5e7b9d2 (later ones step down too)
    migrate.upgrade(db_url)
    ex = Exchange(engine, clock=clock)
    ex.start()
    try:
        after = {p.account_id: p.variation_micros for p in _positions(ex, desk, asian.symbol)}
        assert after == settled
        # any other option position (open, or a European one) records its price as paid
        assert all(p.variation_micros == -p.cost_micros != 0 for p in _positions(ex, desk, call.symbol))
        assert ex.check() == []
    finally:
        ex.close()
        engine.dispose()


def _positions(ex: Exchange, desk: Desk, symbol: str) -> list:
    return [
        p
        for account in ("buyer", "seller")
        for p in ex.positions(desk[account], state="closed")
        if p.symbol == symbol
    ]
