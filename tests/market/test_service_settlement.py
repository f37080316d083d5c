"""Index, marks, margin, delivery, cash settlement and exercise, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.errors import MarketError
from market.records import OrderRequest
from market.service import Exchange
from tests.market.conftest import CASH, DECEMBER, JANUARY, PHYSICAL, START, Market

HOURS = 744
USD = 1_000_000


def order(symbol: str, side: str, qty: int, price: int) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price)


def fix_daily(ex: Exchange, product: str, start, days: int, price: int) -> None:
    ex.add_fixings(product, [(start + timedelta(days=d), price) for d in range(days)], source="test")


def test_physical_delivery_allocates_listings_and_releases_escrow(market: Market) -> None:
    ex = market.exchange
    second = ex.create_account("second buyer", ["trader"]).account.id
    ex.deposit(second, 10_000 * USD, "s")
    ex.create_listing(market.provider, "H100", 4, DECEMBER, JANUARY)  # listings: #1 10 GPUs, #2 4 GPUs
    ex.place_order(market.provider, order(PHYSICAL, "sell", 12, 2000))
    ex.place_order(market.buyer, order(PHYSICAL, "buy", 9, 2000))
    ex.place_order(second, order(PHYSICAL, "buy", 3, 2000))
    market.clock.now = DECEMBER
    report = ex.settle()
    assert PHYSICAL in report.expired
    assert PHYSICAL in report.delivered
    records = sorted((d.buyer_id, d.listing_id, d.gpus) for d in ex.deliveries(market.provider))
    first_listing = ex.listings(market.provider)[0].id
    # every buyer takes from every supplying listing in proportion (oldest listing first: 10 + 2 GPUs)
    supply, demand = {first_listing: 10, first_listing + 1: 2}, {market.buyer: 9, second: 3}
    for buyer, listing, gpus in records:
        assert demand[buyer] * supply[listing] // 12 <= gpus <= demand[buyer] * supply[listing] // 12 + 1
    for buyer, gpus in demand.items():
        assert sum(g for b, _, g in records if b == buyer) == gpus
    for listing, gpus in supply.items():
        assert sum(g for _, li, g in records if li == listing) == gpus
    # the escrow is paid day by day, not at delivery start
    assert ex.balances(market.provider).available == 0
    for item in ex.deliveries(market.provider):
        ex.attach_access(market.provider, item.id, f"ssh://gpu-{item.id}.example")
    market.clock.now = JANUARY + timedelta(days=1)
    assert ex.run_deliveries().accepted == len(records) * 31
    assert ex.balances(market.provider).available == 2000 * 1000 * 12 * HOURS
    assert ex.instrument(PHYSICAL).status == "settled"
    again = ex.settle()
    assert PHYSICAL not in again.delivered  # idempotent
    assert len(ex.deliveries(market.provider)) == len(records)
    market.check()


def test_cash_forward_holds_margin_and_settles_against_the_index_average(market: Market) -> None:
    ex = market.exchange
    with pytest.raises(MarketError) as no_mark:
        ex.place_order(market.buyer, order(CASH, "buy", 1, 1500))
    assert no_mark.value.code == "no_mark"
    fix_daily(ex, "A100", START - timedelta(days=30), 30, 1_500_000)
    margins = ex.refresh_marks()
    per_lot = margins[CASH]
    assert per_lot >= 1_500_000 * HOURS // 20  # at least the 5% floor
    ex.place_order(market.seller, order(CASH, "sell", 2, 1500))
    ex.place_order(market.buyer, order(CASH, "buy", 2, 1500))
    assert ex.balances(market.buyer).margin == 2 * per_lot
    assert ex.balances(market.seller).margin == 2 * per_lot
    market.check()
    market.clock.now = DECEMBER
    assert CASH in ex.settle().expired
    market.clock.now = JANUARY
    fix_daily(ex, "A100", DECEMBER, 31, 1_700_000)  # the index averages 1.70 over December
    before = ex.balances(market.buyer).cash, ex.balances(market.seller).cash
    assert CASH in ex.settle().cash_settled
    gain = 2 * 200_000 * HOURS
    assert ex.balances(market.buyer).cash == before[0] + gain
    assert ex.balances(market.seller).cash == before[1] - gain
    assert ex.balances(market.buyer).margin == 0
    assert ex.instrument(CASH).settle_price_micros == 1_700_000
    assert ex.settle().cash_settled == ()
    market.check()


def test_in_the_money_european_call_pays_its_value_and_becomes_a_forward_at_the_exercise_price(
    market: Market,
) -> None:
    ex = market.exchange
    underlying = "A100-2027-01"
    call = ex.create_option(underlying, "call", 1500)
    assert call.symbol == "A100-2027-01-C1.50"
    assert call.expiry.date().isoformat() == "2026-12-30"  # two business days before delivery
    fix_daily(ex, "A100", START - timedelta(days=20), 20, 2_000_000)
    ex.refresh_marks()
    price = 300  # 0.30 per GPU-hour
    ex.place_order(market.seller, order(call.symbol, "sell", 1, price))
    cash_before = ex.balances(market.buyer).cash, ex.balances(market.seller).cash
    ex.place_order(market.buyer, order(call.symbol, "buy", 1, price))
    # futures-style: no premium changes hands at the trade, both sides hold margin
    assert (ex.balances(market.buyer).cash, ex.balances(market.seller).cash) == cash_before
    assert ex.balances(market.buyer).margin > 0
    assert ex.balances(market.seller).margin > 0
    market.check()
    market.clock.now = call.expiry
    report = ex.settle()
    assert call.symbol in report.exercised
    assert ex.instrument(call.symbol).settle_price_micros == 2_000_000  # the flat forward, on the tick
    gain = (2000 - 1500 - price) * 1000 * call.hours  # payoff less price, paid at exercise
    assert ex.balances(market.buyer).cash == cash_before[0] + gain
    assert ex.balances(market.seller).cash == cash_before[1] - gain
    positions = {p.symbol: p for p in ex.positions(market.buyer)}
    assert positions[underlying].qty == 1
    assert positions[underlying].cost_micros == 2000 * 1000 * call.hours  # opened at the exercise price
    assert {p.symbol: p.qty for p in ex.positions(market.seller)}[underlying] == -1
    assert ex.trades(underlying) == []  # an exercise is not a market trade
    last_fill = ex.fills(market.buyer)[-1]
    assert (last_fill.symbol, last_fill.side, last_fill.price_ticks) == (underlying, "buy", 2000)
    assert ex.settle().exercised == ()
    market.check()


def test_asian_call_pays_the_average_over_the_strike(market: Market) -> None:
    ex = market.exchange
    asian = ex.create_option(CASH, "call", 1500, style="asian")
    assert asian.symbol == "A100-2026-12-AC1.50"
    fix_daily(ex, "A100", START - timedelta(days=20), 20, 1_500_000)
    ex.refresh_marks()
    ex.place_order(market.seller, order(asian.symbol, "sell", 3, 40))
    ex.place_order(market.buyer, order(asian.symbol, "buy", 3, 40))
    market.clock.now = JANUARY  # fixings are observed, so December's arrive once it is over
    fix_daily(ex, "A100", DECEMBER, 31, 1_600_000)
    before = ex.balances(market.buyer).cash  # no premium was paid at the trade (futures-style)
    report = ex.settle()
    assert asian.symbol in report.cash_settled
    assert ex.balances(market.buyer).cash == before + 3 * (100_000 - 40_000) * HOURS  # payoff - price
    assert ex.balances(market.seller).margin == 0
    market.check()


def test_marks_come_from_the_pricing_core(market: Market) -> None:
    ex = market.exchange
    fix_daily(ex, "H100", START - timedelta(days=15), 15, 2_500_000)
    mark = ex.mark(PHYSICAL)
    assert mark.fair_value_micros == 2_500_000  # a driftless model: the forward is the spot
    assert mark.model["type"] == "gbm"
    with pytest.raises(MarketError):
        ex.mark(CASH)  # no A100 fixings


def test_listings_can_offer_themselves(market: Market) -> None:
    ex = market.exchange
    fix_daily(ex, "H100", START - timedelta(days=15), 15, 2_000_000)
    listing = ex.create_listing(
        market.provider,
        "H100",
        2,
        DECEMBER,
        JANUARY,
        reserve_price_micros=1_900_000,
        auto_offer="fair_value",
        spread_micros=100_000,
    )
    asks = {s: ex.book(s).asks for s in listing.covers}
    assert {s: [(lvl.price_ticks, lvl.qty) for lvl in a] for s, a in asks.items()} == {
        "H100-2026-12": [(2100, 2)],  # fair value 2.00 plus the 0.10 spread, above the 1.90 reserve
        "H100-2026-W50": [(2100, 2)],
    }
    market.check()


def test_index_from_day_ahead_trades(market: Market) -> None:
    ex = market.exchange
    day = START.replace(hour=0) + timedelta(days=1)
    symbol = f"H100-{day.date().isoformat()}"
    ex.create_listing(market.provider, "H100", 5, day, day + timedelta(days=1))
    ex.place_order(market.provider, order(symbol, "sell", 1, 2000))
    ex.place_order(market.provider, order(symbol, "sell", 3, 2400))
    ex.place_order(market.buyer, order(symbol, "buy", 4, 2400))
    fixing = ex.fix_index_from_trades("H100", day)
    assert fixing.price_micros == (2000 * 1 + 2400 * 3) * 1000 // 4
    assert ex.fixings("H100")[-1].source == "trades"


def test_option_chain_is_a_strike_grid_around_the_mark(market: Market) -> None:
    ex = market.exchange
    fix_daily(ex, "A100", START - timedelta(days=15), 15, 2_000_000)
    chain = ex.create_option_chain("A100-2027-01", strikes=1, step_bps=1000)
    assert sorted(i.symbol for i in chain) == [
        "A100-2027-01-C1.80",
        "A100-2027-01-C2.00",
        "A100-2027-01-C2.20",
        "A100-2027-01-P1.80",
        "A100-2027-01-P2.00",
        "A100-2027-01-P2.20",
    ]
    assert ex.create_option_chain("A100-2027-01", strikes=1, step_bps=1000) == []  # already listed


def test_one_late_settlement_run_exercises_then_settles_the_underlying(market: Market) -> None:
    ex = market.exchange
    call = ex.create_option(CASH, "call", 1500)
    fix_daily(ex, "A100", START - timedelta(days=20), 20, 2_000_000)
    ex.refresh_marks()
    ex.place_order(market.seller, order(call.symbol, "sell", 2, 300))
    ex.place_order(market.buyer, order(call.symbol, "buy", 2, 300))
    market.clock.now = JANUARY  # nobody ran settlement since: expiry, exercise and settlement at once
    fix_daily(ex, "A100", DECEMBER, 31, 2_000_000)
    before = ex.balances(market.buyer).cash
    report = ex.settle()
    assert call.symbol in report.exercised
    assert CASH in report.cash_settled
    # the option paid 2.00 - 1.50 - 0.30 at exercise; the forward opened at 2.00 settled at 2.00
    assert ex.balances(market.buyer).cash == before + 2 * 200_000 * HOURS
    market.check()


def test_auto_offering_listings_offer_into_forwards_created_later(market: Market) -> None:
    ex = market.exchange
    listing = ex.create_listing(
        market.provider, "H100", 3, DECEMBER, JANUARY, reserve_price_micros=2_345_600, auto_offer="reserve"
    )
    assert listing.covers == ("H100-2026-12", "H100-2026-W50")
    assert [ex.book(s).asks[0].price_ticks for s in listing.covers] == [2346, 2346]  # rounded up to the tick
    day = ex.create_forward("H100", "day", DECEMBER + timedelta(days=9))
    assert [(lvl.price_ticks, lvl.qty) for lvl in ex.book(day.symbol).asks] == [(2346, 3)]
    market.check()


def test_auto_offers_share_a_listing_between_overlapping_forwards(market: Market) -> None:
    ex = market.exchange
    solo = ex.create_account("solo", ["provider"]).account.id  # no capacity but its own listings
    listing = ex.create_listing(
        solo, "H100", 3, DECEMBER, JANUARY, reserve_price_micros=2_000_000, auto_offer="reserve"
    )
    assert listing.covers == ("H100-2026-12", "H100-2026-W50")
    offered = {s: [(lvl.price_ticks, lvl.qty) for lvl in ex.book(s).asks] for s in listing.covers}
    assert offered == {"H100-2026-12": [(2000, 3)], "H100-2026-W50": []}  # the month takes the GPU-days
    week = ex.create_listing(
        solo,
        "H100",
        2,
        DECEMBER + timedelta(days=6),
        DECEMBER + timedelta(days=13),
        reserve_price_micros=2_100_000,
        auto_offer="reserve",
    )
    assert [(lvl.price_ticks, lvl.qty) for lvl in ex.book(week.covers[0]).asks] == [(2100, 2)]
    market.check()


def test_overlapping_forwards_cannot_sell_the_same_gpu_hours_twice(market: Market) -> None:
    ex = market.exchange  # the provider listed 10 GPUs for December
    ex.place_order(market.provider, order(PHYSICAL, "sell", 10, 2000))
    week = "H100-2026-W50"  # 7-14 December, inside the month
    with pytest.raises(MarketError) as refused:
        ex.place_order(market.provider, order(week, "sell", 1, 2000))
    assert refused.value.code == "inventory_exceeded"
    extra = ex.create_listing(
        market.provider, "H100", 4, DECEMBER + timedelta(days=6), DECEMBER + timedelta(days=13)
    )
    assert extra.covers == (week,)
    ex.place_order(market.provider, order(week, "sell", 4, 2000))  # only the week's own listing is free
    ex.place_order(market.buyer, order(PHYSICAL, "buy", 10, 2000))
    ex.place_order(market.buyer, order(week, "buy", 4, 2000))
    market.check()
    market.clock.now = DECEMBER
    ex.settle()
    market.clock.now = DECEMBER + timedelta(days=6)
    ex.settle()
    by_symbol = {(d.symbol, d.listing_id): d.gpus for d in ex.deliveries(market.buyer)}
    first = ex.listings(market.provider)[0].id
    # the month takes the December listing; the week then finds it fully delivered on its days
    assert by_symbol == {(PHYSICAL, first): 10, (week, extra.id): 4}
    market.check()
