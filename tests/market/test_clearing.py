"""The clearing house through the service: variation margin, portfolio margin, calls, liquidation,
the default fund and waterfall, and the risk report (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from market.clearing import calls, liquidation
from market.errors import MarketError
from market.records import OrderRequest
from market.service import Exchange
from pricing.risk import Book, Exposure, ScanParameters, scan
from tests.market.conftest import DECEMBER, JANUARY, START, Clock

HOURS = 744  # December 2026
USD = 1_000_000
CASH = "A100-2026-12"
WEEK = "A100-2026-W50"  # 7 December 00:00 to 14 December, inside December


def order(symbol: str, side: str, qty: int, price: int, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price, **kw)


class Desk:
    """A100 cash-settled months and weeks, flat index history (vol at its 5% floor), three traders."""

    def __init__(self, ex: Exchange, clock: Clock, cash: dict[str, int]) -> None:
        self.ex, self.clock = ex, clock
        ex.create_product("A100")
        ex.create_series("A100", months=2, weeks=3, days=0, settlement="cash")
        ex.add_fixings("A100", [(START - timedelta(days=30 - d), 1_500_000) for d in range(30)], "test")
        ex.refresh_marks()
        self.ids = {}
        for name, amount in cash.items():
            self.ids[name] = ex.create_account(name, ["trader"]).account.id
            if amount:
                ex.deposit(self.ids[name], amount, f"seed-{name}")

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def fix(self, price_micros: int) -> None:
        """A sustained move of the index: three prints (marks read a running median of five)."""
        prints = [(self.clock.now - timedelta(minutes=m), price_micros) for m in (2, 1, 0)]
        self.ex.add_fixings("A100", prints, "test")

    def kinds(self, account: str, kind: str) -> int:
        return sum(e.amount_micros for e in self.ex.ledger(account, limit=1000) if e.kind == kind)

    def check(self) -> None:
        assert self.ex.check() == []


@pytest.fixture
def desk(exchange: Exchange, clock: Clock) -> Desk:
    return Desk(exchange, clock, {"buyer": 100_000 * USD, "seller": 100_000 * USD, "mm": 100_000 * USD})


def test_variation_margin_pays_the_move_and_settlement_pays_the_rest(desk: Desk) -> None:
    ex = desk.ex
    ex.place_order(desk["seller"], order(CASH, "sell", 2, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 2, 1500))
    desk.clock.advance(hours=1)
    desk.fix(1_600_000)
    report = ex.remargin()
    move = 2 * 100_000 * HOURS  # 2 lots x USD 0.10 x 744 GPU-hours
    assert report.variation_micros == move
    assert desk.kinds(desk["buyer"], "variation") == move
    assert desk.kinds(desk["seller"], "variation") == -move
    desk.check()
    assert ex.remargin().variation_micros == 0  # nothing moved: nothing paid
    desk.clock.now = DECEMBER
    ex.settle()
    desk.clock.now = JANUARY  # fixings are observed: December's arrive once it is over
    ex.add_fixings("A100", [(DECEMBER + timedelta(days=d), 1_700_000) for d in range(31)], "test")
    ex.settle()
    # variation plus final settlement equals the whole gain against the index average (1.70)
    total = desk.kinds(desk["buyer"], "variation") + desk.kinds(desk["buyer"], "settlement")
    assert total == 2 * 200_000 * HOURS
    desk.check()


def test_portfolio_margin_is_the_scan_of_the_account_and_offsets_the_week_in_the_month(desk: Desk) -> None:
    ex = desk.ex
    ex.place_order(desk["mm"], order(CASH, "sell", 1, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 1, 1500))
    ex.place_order(desk["mm"], order(WEEK, "buy", 1, 1500))
    ex.place_order(desk["buyer"], order(WEEK, "sell", 1, 1500))
    per_instrument = ex.balances(desk["buyer"]).margin
    ex.remargin()
    [margin] = ex.margins(desk["buyer"])
    now_years = lambda t: (t - desk.clock.now).total_seconds() / (365 * 86400)  # noqa: E731
    book = Book.of(
        [
            Exposure("forward", HOURS, 1.5, now_years(DECEMBER), now_years(JANUARY)),
            Exposure(
                "forward",
                -168,
                1.5,
                now_years(DECEMBER + timedelta(days=6)),
                now_years(DECEMBER + timedelta(days=13)),
            ),
        ]
    )
    expected = scan(book, 0.05, ScanParameters())
    assert margin.required_micros == math.ceil(round(expected.margin * 1e6, 3))
    assert margin.per_instrument_micros == per_instrument
    assert margin.required_micros < 0.8 * per_instrument  # the week offsets a quarter of the month
    assert ex.balances(desk["buyer"]).margin == margin.required_micros
    desk.check()


def test_orders_hold_the_clearing_houses_own_rate(desk: Desk) -> None:
    """One formula: what an order holds per lot is what the pass requires of a one-lot book, for a
    short forward and for a written call (after a jump, so the stressed-period volatility differs)."""
    ex = desk.ex
    desk.clock.advance(hours=1)
    desk.fix(1_800_000)  # +20%: today's and the stressed volatility move apart
    ex.refresh_marks()
    call = ex.create_option(CASH, "call", 1900)
    ex.refresh_marks()
    for symbol, price in ((CASH, 1800), (call.symbol, 50)):
        ex.place_order(desk["mm"], order(symbol, "buy", 1, price))
        ex.place_order(desk["seller"], order(symbol, "sell", 1, price))
    ex.remargin()
    per_lot = {s: ex.instrument(s).margin_per_lot_micros for s in (CASH, call.symbol)}
    assert all(v > 0 for v in per_lot.values())
    [margin] = ex.margins(desk["seller"])
    assert margin.per_instrument_micros == sum(per_lot.values())  # each lot held the same rate
    buyer = ex.margins(desk["mm"])[0]  # long both: a futures-style long option holds margin too
    assert buyer.per_instrument_micros == sum(per_lot.values())
    years = lambda t: (t - desk.clock.now).total_seconds() / (365 * 86400)  # noqa: E731
    forward = ex.mark(CASH, greeks=False).forward_micros / 1e6
    short = Book.of([Exposure("forward", -HOURS, forward, years(DECEMBER), years(JANUARY))])
    expected = scan(short, margin.vol, ScanParameters()).margin  # independently, at the pass's volatility
    assert per_lot[CASH] == pytest.approx(expected * 1e6, abs=100)  # the stored vol is rounded to 1e-6
    desk.check()


def test_margin_call_refuses_risk_then_liquidation_reduces_inside_the_band(
    exchange: Exchange, clock: Clock
) -> None:
    desk = Desk(exchange, clock, {"buyer": 100 * USD, "seller": 100_000 * USD, "mm": 100_000 * USD})
    ex = desk.ex
    per_lot = ex.instrument(CASH).margin_per_lot_micros
    ex.deposit(desk["buyer"], 5 * per_lot, "more")
    ex.place_order(desk["seller"], order(CASH, "sell", 4, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 4, 1500))
    resting = ex.place_order(desk["buyer"], order(CASH, "buy", 1, 1000))  # holds one lot's margin
    clock.advance(hours=1)
    desk.fix(1_400_000)  # the long loses USD 0.10 x 744 x 4 = 297.60: its 100 of cash and most margin
    report = ex.remargin()
    assert report.calls_opened == (desk["buyer"],)
    [call] = ex.margin_calls(desk["buyer"])
    assert call.status == "open"
    assert call.deadline == clock.now + timedelta(hours=calls.CALL_HOURS)
    assert call.held_micros < calls.MAINTENANCE * call.required_micros
    with pytest.raises(MarketError) as refused:
        ex.place_order(desk["buyer"], order(CASH, "buy", 1, 1400))
    assert refused.value.code == "margin_call"
    with pytest.raises(MarketError) as amended:
        ex.amend_order(desk["buyer"], resting.id, qty=2)
    assert amended.value.code == "margin_call"
    ex.amend_order(desk["buyer"], resting.id, qty=1, price_ticks=1001)  # no more lots: allowed
    with pytest.raises(MarketError) as too_big:
        ex.place_order(desk["buyer"], order(CASH, "sell", 5, 1400, tif="ioc", reduce_only=True))
    assert too_big.value.code == "reduce_only"
    # past the deadline: bids at 1.39 (inside the 10% band around 1.40) and 1.20 (outside)
    ex.place_order(desk["mm"], order(CASH, "buy", 3, 1200))
    ex.place_order(desk["mm"], order(CASH, "buy", 1, 1390))
    clock.advance(hours=calls.CALL_HOURS + 1)
    report = ex.remargin()
    assert report.liquidated_lots == 1  # one slice: 25% of 4 lots, and only 1 lot is bid inside the band
    [call] = ex.margin_calls(desk["buyer"])
    assert call.status in ("liquidating", "closed")
    fills = [f for f in ex.fills(desk["buyer"]) if f.side == "sell"]
    low, high = liquidation.band(1_400_000, 1000)
    assert (low, high) == (1260, 1540)
    assert [f.price_ticks for f in fills] == [1390]
    assert all(low <= f.price_ticks <= high for f in fills)
    clock.advance(hours=1)
    assert ex.remargin().liquidated_lots == 0  # the 1.20 bid is outside the band: never sold there
    desk.check()


def test_a_loss_beyond_cash_runs_through_the_waterfall(exchange: Exchange, clock: Clock) -> None:
    desk = Desk(exchange, clock, {"buyer": 100 * USD, "seller": 100_000 * USD, "mm": 100_000 * USD})
    ex = desk.ex
    per_lot = ex.instrument(CASH).margin_per_lot_micros
    ex.deposit(desk["buyer"], 2 * per_lot, "more")
    ex.place_order(desk["seller"], order(CASH, "sell", 2, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 2, 1500))
    ex.place_order(desk["mm"], order(CASH, "sell", 1, 1500))
    ex.place_order(desk["seller"], order(CASH, "buy", 1, 1500))
    ex.fund_capital(50 * USD)
    clock.advance(hours=1)
    ex.remargin()  # sizes the default fund: every member contributes
    fund = ex.default_fund()
    assert set(fund.contributions) == {desk["buyer"], desk["seller"], desk["mm"]}
    buyer_cash = ex.balances(desk["buyer"]).cash
    clock.advance(hours=1)
    desk.fix(900_000)  # -40%: the long loses 2 x 0.60 x 744 = USD 892.80, far beyond its cash
    ex.remargin()
    [default] = ex.defaults()
    loss = 2 * 600_000 * HOURS
    assert default.account_id == desk["buyer"]
    assert default.shortfall_micros == loss - buyer_cash
    assert default.contribution_micros == fund.contributions[desk["buyer"]]
    assert default.capital_micros == 50 * USD
    steps = (
        default.contribution_micros
        + default.capital_micros
        + default.fund_micros
        + default.assessment_micros
        + default.uncovered_micros
    )
    assert steps == default.shortfall_micros
    assert default.uncovered_micros == 0
    assert ex.balances(desk["buyer"]).cash == 0
    desk.check()


def test_risk_report_has_greeks_vars_stress_and_margin(desk: Desk) -> None:
    ex = desk.ex
    ex.place_order(desk["seller"], order(CASH, "sell", 2, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 2, 1500))
    ex.remargin()
    report = ex.risk(desk["buyer"])
    [product] = report.products
    assert product.delta == pytest.approx(2 * HOURS, rel=1e-6)
    assert product.stress["new_generation"] == pytest.approx(-0.4 * 1.5 * 2 * HOURS, rel=1e-9)
    assert product.stress["scarcity_spike"] == pytest.approx(2.0 * 1.5 * 2 * HOURS, rel=1e-9)
    assert product.historical_var is not None
    assert product.historical_var == pytest.approx(0.0, abs=1e-9)  # a flat history has no losses
    assert product.mc_var > 0
    assert [m.product for m in report.margin] == ["A100"]


def test_a_settlement_shortfall_is_covered_by_the_waterfall_not_the_exchange(
    exchange: Exchange, clock: Clock
) -> None:
    desk = Desk(exchange, clock, {"buyer": 0, "seller": 100_000 * USD, "mm": 100_000 * USD})
    ex = desk.ex
    ex.deposit(desk["buyer"], ex.instrument(CASH).margin_per_lot_micros, "margin")
    ex.place_order(desk["seller"], order(CASH, "sell", 1, 1500))
    ex.place_order(desk["buyer"], order(CASH, "buy", 1, 1500))
    ex.fund_capital(1_000 * USD)
    clock.now = DECEMBER
    ex.settle()
    clock.now = JANUARY  # fixings are observed: December's arrive once it is over
    ex.add_fixings("A100", [(DECEMBER + timedelta(days=d), 1_000_000) for d in range(31)], "test")
    ex.settle()  # no pass ran: the whole loss (0.50 x 744) meets the buyer's margin only at settlement
    [default] = ex.defaults()
    assert default.ref == CASH
    assert default.shortfall_micros == 500_000 * HOURS - ex.instrument(CASH).margin_per_lot_micros
    assert default.capital_micros == default.shortfall_micros  # no contributions yet: capital covers it
    assert ex.default_fund().capital_micros == 1_000 * USD - default.shortfall_micros
    desk.check()
