"""Trailing stops and one-cancels-other pairs through the service: holds, rows, invariants, restart.

The engine's rules are pinned in test_engine_conditional.py; here the same orders go through
trading, the database and recovery (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from market.errors import InvalidRequestError
from market.service import Exchange
from tests.market.conftest import PHYSICAL, Market
from tests.market.test_service_orders import buy, sell


def trade(market: Market, price: int) -> None:
    """One lot between the provider and the seller-turned-buyer account at ``price``."""
    market.exchange.place_order(market.provider, sell(PHYSICAL, 1, price))
    assert market.exchange.place_order(market.seller, buy(PHYSICAL, 1, price)).status == "filled"


def trailing_buy(limit: int, trail: int, **kw: object):
    return buy(PHYSICAL, 1, limit, type="trailing_stop_limit", trail_ticks=trail, **kw)


def pair(market: Market) -> tuple:
    """A buyer's pair: a take-profit buy at 1900 and a buy stop-limit triggered at 2100."""
    return market.exchange.place_oco(
        market.buyer,
        (buy(PHYSICAL, 1, 1900), buy(PHYSICAL, 1, 2200, type="stop_limit", stop_price_ticks=2100)),
    )


def test_a_trailing_stop_row_shows_its_current_trigger(market: Market) -> None:
    ex = market.exchange
    trade(market, 2000)
    order = ex.place_order(market.buyer, trailing_buy(2300, 50))
    assert (order.type, order.trail_ticks, order.stop_price_ticks, order.status) == (
        "trailing_stop_limit",
        50,
        2050,
        "open",
    )
    assert order.reserved_micros > 0  # held at its limit price, like a stop-limit buy
    trade(market, 1950)
    assert ex.order(market.buyer, order.id).stop_price_ticks == 2000
    trade(market, 2000)
    triggered = ex.order(market.buyer, order.id)
    assert triggered.triggered
    assert triggered.status == "open"  # nothing offered: it rests as a limit buy at 2300
    assert ex.book(PHYSICAL).bids[0].price_ticks == 2300
    market.check()


def test_trailing_stop_requests_are_checked_before_anything_is_held(market: Market) -> None:
    for request, field in (
        (buy(PHYSICAL, 1, 2000, trail_ticks=5), "trail"),
        (buy(PHYSICAL, 1, 2000, type="trailing_stop_limit"), "trail"),
        (buy(PHYSICAL, 1, 2000, type="trailing_stop_limit", trail_ticks=0), "trail"),
        (buy(PHYSICAL, 1, 2000, activation_price_ticks=5), "activation_price"),
        (buy(PHYSICAL, 1, None, type="trailing_stop_market", trail_ticks=5), "type"),
    ):
        with pytest.raises(InvalidRequestError) as raised:
            market.exchange.place_order(market.buyer, request)
        assert raised.value.field == field
    assert market.exchange.balances(market.buyer).reserved == 0


def test_a_take_profit_fill_cancels_its_stop_in_the_same_commit(market: Market) -> None:
    ex = market.exchange
    before = ex.balances(market.buyer)
    take, stop = pair(market)
    assert take.link_id == stop.link_id is not None
    assert (take.status, stop.status) == ("open", "open")
    ex.place_order(market.provider, sell(PHYSICAL, 1, 1900))
    take, stop = (ex.order(market.buyer, o.id) for o in (take, stop))
    assert (take.status, stop.status, stop.reason) == ("filled", "cancelled", "oco")
    assert stop.reserved_micros == 0
    assert ex.balances(market.buyer).reserved == before.reserved  # every hold released
    market.check()


def test_cancelling_one_leg_cancels_both_and_cancel_all_copes(market: Market) -> None:
    ex = market.exchange
    take, stop = pair(market)
    ex.cancel_order(market.buyer, take.id)
    assert [ex.order(market.buyer, o.id).reason for o in (take, stop)] == ["user", "oco"]
    pair(market)
    pair(market)
    assert len(ex.cancel_orders(market.buyer)) == 4
    assert ex.open_order_count(market.buyer) == 0
    market.check()


def test_a_pair_the_book_refuses_is_stored_rejected_and_holds_nothing(market: Market) -> None:
    ex = market.exchange
    before = ex.balances(market.buyer)
    take, stop = ex.place_oco(
        market.buyer,
        (buy(PHYSICAL, 1, 1900), buy(PHYSICAL, 2, 2200, type="stop_limit", stop_price_ticks=2100)),
    )
    assert [(o.status, o.reason) for o in (take, stop)] == [("rejected", "invalid_oco")] * 2
    assert ex.balances(market.buyer).reserved == before.reserved
    with pytest.raises(InvalidRequestError):
        ex.place_oco(market.buyer, (buy(PHYSICAL, 1, 1900), buy("H100-2027-01", 1, 1900)))
    market.check()


def test_a_broken_link_is_caught_by_the_invariants(market: Market, db_engine: sa.Engine) -> None:
    take, _ = pair(market)
    with db_engine.begin() as connection:
        connection.execute(sa.text("UPDATE orders SET filled = 1 WHERE id = :id"), {"id": take.id})
    problems = market.exchange.check()
    assert any("one-cancels-other" in problem for problem in problems), problems


def test_restart_replays_trailing_triggers_and_links(market: Market, db_engine: sa.Engine) -> None:
    ex = market.exchange
    trade(market, 2000)
    trailing = ex.place_order(market.buyer, trailing_buy(2300, 50))
    _, stop = pair(market)
    trade(market, 1950)  # the trailing trigger moves to 2000
    hash_before = ex._books().engine.state_hash()
    ex.close()
    again = Exchange(db_engine, clock=market.clock)
    again.start()
    try:
        assert again.refused_books == frozenset()
        assert again._books().engine.state_hash() == hash_before
        assert again.check() == []
        again.place_order(market.provider, sell(PHYSICAL, 1, 1900))  # fills the take-profit
        assert again.order(market.buyer, stop.id).reason == "oco"
        assert again.order(market.buyer, trailing.id).stop_price_ticks == 1950  # followed the 1900 trade
        assert again.check() == []
    finally:
        again.close()
