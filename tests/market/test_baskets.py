"""Basket funds through the service: NAV from the marks, creation and redemption in kind and in cash,
fees, the ledger, the arbitrage of a premium, margin of the look-through strip, and winding up.

On SQLite: the HTTP tests (tests/api/test_baskets_api.py) run the same use cases on PostgreSQL too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.baskets.records import BasketTerms, FlowRequest, LegTerms
from market.errors import (
    ForbiddenError,
    IdempotencyKeyReusedError,
    InsufficientDepthError,
    InsufficientFundsError,
    InvalidQuantityError,
    InventoryExceededError,
)
from market.records import OrderRequest
from market.service import Exchange
from tests.market.conftest import DECEMBER, JANUARY, START, Clock

USD = 1_000_000
HOURS = 744  # December 2026
A, H = "A100-2026-12", "H200-2026-12"


def order(symbol: str, side: str, qty: int, price: int, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price, **kw)


class Fund:
    """Two cash-settled products with flat index histories, a fund GPUB (2 lots of A100 December + 1 of
    H200 December per unit), an authorised participant, a market maker and an investor."""

    def __init__(self, ex: Exchange, clock: Clock) -> None:
        self.ex, self.clock = ex, clock
        for product, price in (("A100", 1_500_000), ("H200", 3_000_000)):
            ex.create_product(product)
            ex.create_series(product, months=2, weeks=0, days=0, settlement="cash")
            ex.add_fixings(product, [(START - timedelta(days=30 - d), price) for d in range(30)], "test")
        ex.refresh_marks()
        self.ids = {}
        for name in ("ap", "mm", "investor", "outsider"):
            self.ids[name] = ex.create_account(name, ["trader"]).account.id
            ex.deposit(self.ids[name], 1_000_000 * USD, f"seed-{name}")
        ex.create_basket(
            BasketTerms(
                "GPUB", "GPU basket", (LegTerms(A, 2), LegTerms(H, 1)), fee_ppm=2_000, in_kind_fee_ppm=500
            )
        )
        ex.authorise_participant("GPUB", self["ap"])
        self.fund = ex.basket("GPUB").fund_id

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    def marks(self) -> dict[str, int]:
        return dict(self.ex.basket_nav("GPUB").marks)

    def strip(self, units: int, name: str = "ap") -> None:
        """``name`` buys ``units`` units' strip from the market maker at the marks (ticks of 0.001)."""
        for symbol, lots in ((A, 2), (H, 1)):
            price = self.marks()[symbol] // 1_000
            self.ex.place_order(self["mm"], order(symbol, "sell", lots * units, price))
            self.ex.place_order(self[name], order(symbol, "buy", lots * units, price))

    def cash(self, name: str) -> int:
        return self.ex.balances(self.ids.get(name, name)).available

    def qty(self, name: str, symbol: str) -> int:
        account = self.ids.get(name, name)
        return next((p.qty for p in self.ex.positions(account) if p.symbol == symbol), 0)

    def check(self) -> None:
        assert self.ex.check() == []


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def fund(exchange: Exchange, clock: Clock) -> Fund:
    return Fund(exchange, clock)


def create(units: int, method: str = "in_kind", key: str | None = None) -> FlowRequest:
    return FlowRequest("create", method, units, key)


def test_creation_in_kind_moves_the_strip_and_nav_plus_fee_and_keeps_the_ledger_whole(fund: Fund) -> None:
    ex = fund.ex
    empty = ex.basket_nav("GPUB")
    marks = dict(empty.marks)
    assert all(m % 1_000 == 0 for m in marks.values())  # on the legs' ticks
    assert empty.units == 0
    assert empty.strip_micros == (2 * marks[A] + marks[H]) * HOURS
    assert empty.nav_micros == empty.strip_micros  # born fully collateralised
    assert empty.margin_micros > 0
    fund.strip(3)
    nav = ex.basket_nav("GPUB").nav_micros
    before = ex.balances(fund["ap"]).cash
    flow = ex.basket_flow(fund["ap"], "GPUB", create(3))
    fee = -(-3 * nav * 500 // 1_000_000)  # 0.05%, rounded up
    assert ex.balances(fund["ap"]).cash - before == -(3 * nav + fee)  # its strip margin came back
    assert (flow.nav_micros, flow.fee_micros, flow.costs_micros) == (nav, fee, 0)
    assert flow.cash_micros == 3 * nav + fee
    assert (fund.qty("ap", A), fund.qty("ap", H), fund.qty("ap", "GPUB")) == (0, 0, 3)
    assert (fund.qty(fund.fund, A), fund.qty(fund.fund, H), fund.qty(fund.fund, "GPUB")) == (6, 3, -3)
    after = ex.basket_nav("GPUB")
    assert after.units == 3
    assert after.equity_micros == 3 * nav + fee  # positions at their marks are worth nothing more
    assert after.nav_micros == (3 * nav + fee) // 3  # the fee stays with the holders
    fund.check()


def test_nav_follows_the_marks_and_rounds_down(fund: Fund) -> None:
    ex = fund.ex
    fund.strip(2)
    ex.basket_flow(fund["ap"], "GPUB", create(2))
    before = ex.basket_nav("GPUB")
    fund.clock.advance(hours=1)
    ex.add_fixings("A100", [(fund.clock.now - timedelta(minutes=m), 1_650_000) for m in (2, 1, 0)], "test")
    ex.remargin()  # variation margin settles the strip into the fund's cash
    after = ex.basket_nav("GPUB")
    move = 2 * 2 * (dict(after.marks)[A] - dict(before.marks)[A]) * HOURS
    assert move > 0
    assert after.equity_micros == before.equity_micros + move
    assert after.nav_micros == after.equity_micros // 2
    fund.check()


def test_redemption_in_kind_returns_the_strip_and_nav_less_fee(fund: Fund) -> None:
    ex = fund.ex
    fund.strip(3)
    ex.basket_flow(fund["ap"], "GPUB", create(3))
    nav = ex.basket_nav("GPUB").nav_micros
    before = fund.cash("ap")
    flow = ex.basket_flow(fund["ap"], "GPUB", FlowRequest("redeem", "in_kind", 2))
    fee = -(-2 * nav * 500 // 1_000_000)
    assert flow.cash_micros == 2 * nav - fee
    assert (fund.qty("ap", A), fund.qty("ap", H), fund.qty("ap", "GPUB")) == (4, 2, 1)
    assert (fund.qty(fund.fund, A), fund.qty(fund.fund, H)) == (2, 1)
    # the AP now holds the strip's margin out of what it was paid
    margin = ex.balances(fund["ap"]).margin
    assert fund.cash("ap") - before == 2 * nav - fee - margin
    with pytest.raises(InvalidQuantityError):  # the last unit stays until the fund winds up
        ex.basket_flow(fund["ap"], "GPUB", FlowRequest("redeem", "in_kind", 1))
    fund.check()


def test_creation_and_redemption_in_cash_trade_the_strip_and_charge_its_costs(fund: Fund) -> None:
    ex = fund.ex
    marks = fund.marks()
    # the market maker offers the strip one tick above the marks (tick 0.001 = 744 micro-dollars a lot)
    for symbol, lots in ((A, 4), (H, 2)):
        ex.place_order(fund["mm"], order(symbol, "sell", lots, marks[symbol] // 1_000 + 1))
    nav = ex.basket_nav("GPUB").nav_micros
    before = fund.cash("ap")
    flow = ex.basket_flow(fund["ap"], "GPUB", create(2, "cash"))
    fee = -(-2 * nav * 2_000 // 1_000_000)  # 0.2%
    assert flow.costs_micros == 6 * 1_000 * HOURS  # six lots, one tick over the mark
    assert flow.cash_micros == 2 * nav + fee + flow.costs_micros
    assert fund.cash("ap") - before == -flow.cash_micros
    creations = [e.amount_micros for e in ex.ledger(fund["ap"], limit=100) if e.kind == "basket_create"]
    assert sum(creations) == -flow.cash_micros  # its own transfers, not folded into the fund's orders
    assert (fund.qty(fund.fund, A), fund.qty(fund.fund, H), fund.qty("ap", "GPUB")) == (4, 2, 2)
    assert ex.basket_nav("GPUB").equity_micros == 2 * nav + fee  # the costs did not touch the NAV
    # and back: the fund sells one unit's strip into bids one tick under the marks
    for symbol, lots in ((A, 2), (H, 1)):
        ex.place_order(fund["mm"], order(symbol, "buy", lots, marks[symbol] // 1_000 - 1))
    nav = ex.basket_nav("GPUB").nav_micros
    back = ex.basket_flow(fund["ap"], "GPUB", FlowRequest("redeem", "cash", 1))
    assert back.costs_micros == 3 * 1_000 * HOURS
    assert back.cash_micros == nav - -(-nav * 2_000 // 1_000_000) - back.costs_micros
    assert (fund.qty(fund.fund, A), fund.qty(fund.fund, H)) == (2, 1)
    fund.check()


def test_refusals_leave_nothing_changed_and_flows_are_idempotent_by_key(fund: Fund) -> None:
    ex = fund.ex
    with pytest.raises(ForbiddenError):
        ex.basket_flow(fund["outsider"], "GPUB", create(1))
    with pytest.raises(InventoryExceededError):  # no strip to deliver
        ex.basket_flow(fund["ap"], "GPUB", create(1))
    with pytest.raises(InsufficientDepthError):  # empty books: nothing to buy for cash
        ex.basket_flow(fund["ap"], "GPUB", create(1, "cash"))
    fund.strip(1)
    ex.withdraw(fund["ap"], fund.cash("ap") - 1_000, "drain")
    with pytest.raises(InsufficientFundsError):  # the strip but not the NAV in cash
        ex.basket_flow(fund["ap"], "GPUB", create(1))
    assert ex.basket("GPUB").units == 0
    assert (fund.qty("ap", A), fund.qty(fund.fund, A)) == (2, 0)
    fund.check()
    ex.deposit(fund["ap"], 10_000 * USD, "refill")
    first = ex.basket_flow(fund["ap"], "GPUB", create(1, key="k1"))
    again = ex.basket_flow(fund["ap"], "GPUB", create(1, key="k1"))
    assert again == first
    assert ex.basket("GPUB").units == 1
    with pytest.raises(IdempotencyKeyReusedError):
        ex.basket_flow(fund["ap"], "GPUB", create(2, key="k1"))
    assert [f.id for f in ex.basket_flows("GPUB")] == [first.id]


def test_a_premium_is_arbitraged_by_creating_and_selling(fund: Fund) -> None:
    """An investor bids 2% over NAV: the AP buys the strip at the marks, creates in kind, sells the
    units into the bid and keeps the premium less the fee; the premium is gone."""
    ex = fund.ex
    fund.strip(1)
    ex.basket_flow(fund["ap"], "GPUB", create(1))
    nav = ex.basket_nav("GPUB").nav_micros
    bid = nav * 102 // 100 // 10_000  # cents
    ex.place_order(fund["investor"], order("GPUB", "buy", 5, bid))
    start = fund.cash("ap") + ex.balances(fund["ap"]).margin
    fund.strip(5)
    flow = ex.basket_flow(fund["ap"], "GPUB", create(5))
    ex.place_order(fund["ap"], order("GPUB", "sell", 5, bid))
    profit = fund.cash("ap") + ex.balances(fund["ap"]).margin - start
    assert profit == 5 * bid * 10_000 - flow.cash_micros
    assert profit > 5 * nav // 100  # more than half the 2% premium
    assert fund.qty("investor", "GPUB") == 5
    assert ex.book("GPUB").bids == ()  # the premium bid is gone
    with pytest.raises(InventoryExceededError):  # units are never sold short
        ex.place_order(fund["investor"], order("GPUB", "sell", 6, bid))
    fund.check()


def test_the_fund_holds_the_look_through_margin_and_winds_up_after_settlement(fund: Fund) -> None:
    ex = fund.ex
    fund.strip(2)
    ex.basket_flow(fund["ap"], "GPUB", create(2))
    fund.ex.add_fixings("A100", [(fund.clock.now, 1_500_000)], "test")
    ex.remargin()
    nav = ex.basket_nav("GPUB")
    held = ex.balances(fund.fund).margin
    assert abs(held - 2 * nav.margin_micros) <= 2  # the scan is linear in the strip, up to rounding
    assert fund.fund not in ex.default_fund().contributions  # fully funded: it cannot default
    ex.place_order(fund["ap"], order("GPUB", "sell", 1, nav.nav_micros // 10_000))
    ex.place_order(fund["investor"], order("GPUB", "buy", 1, nav.nav_micros // 10_000))
    fund.clock.now = DECEMBER
    ex.settle()
    assert ex.instrument("GPUB").status == "expired"
    fund.clock.now = JANUARY
    for product, price in (("A100", 1_600_000), ("H200", 2_900_000)):
        ex.add_fixings(product, [(DECEMBER + timedelta(days=d), price) for d in range(31)], "test")
    ex.settle()
    done = ex.wind_up_baskets()
    assert [d.symbol for d in done] == ["GPUB"]
    [wound] = done
    assert sorted(wound.payments) == sorted(
        [(fund["ap"], wound.nav_micros), (fund["investor"], wound.nav_micros)]
    )
    assert 0 <= wound.residue_micros < 2
    assert ex.balances(fund.fund).available == 0
    assert ex.basket("GPUB").status == "wound_up"
    assert ex.wind_up_baskets() == []
    fund.check()
