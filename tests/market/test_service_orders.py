"""Listings, holds, order flow, idempotency and recovery, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from market.errors import (
    DuplicateClientOrderIdError,
    ForbiddenError,
    InstrumentNotOpenError,
    InsufficientFundsError,
    InvalidAmountError,
    InvalidQuantityError,
    InvalidRequestError,
    InventoryExceededError,
    NotFoundError,
    OffTickError,
    OrderRejectedError,
    RecoveryMismatchError,
)
from market.records import OrderRequest
from market.service import Exchange
from market.units import to_epoch_us
from tests.market.conftest import DECEMBER, JANUARY, PHYSICAL, Market

HOURS = 744  # December
TICK = 1000


def sell(symbol: str, qty: int, price: int, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side="sell", qty=qty, price_ticks=price, **kw)


def buy(symbol: str, qty: int, price: int | None, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side="buy", qty=qty, price_ticks=price, **kw)


def test_listing_creates_inventory_and_caps_what_a_provider_can_sell(market: Market) -> None:
    ex = market.exchange
    listing = ex.listings(market.provider)[0]
    # December and the ISO week inside it; not week 49 (it starts on 30 November) nor January
    assert listing.covers == ("H100-2026-12", "H100-2026-W50")
    ex.place_order(market.provider, sell(PHYSICAL, 6, 2000))
    with pytest.raises(InventoryExceededError):
        ex.place_order(market.provider, sell(PHYSICAL, 5, 2100))
    with pytest.raises(ForbiddenError):
        ex.place_order(market.seller, sell(PHYSICAL, 1, 2000))  # traders have no capacity to sell
    # the listing can shrink only by what is neither sold nor offered
    with pytest.raises(InventoryExceededError):
        ex.reduce_listing(market.provider, listing.id, 3)
    assert ex.reduce_listing(market.provider, listing.id, 7).gpus == 7
    assert ex.withdraw_listing(market.provider, listing.id).gpus == 6
    market.check()


def test_physical_trade_moves_the_buyers_cash_to_escrow(market: Market) -> None:
    ex = market.exchange
    ask = ex.place_order(market.provider, sell(PHYSICAL, 4, 2000))
    before = ex.balances(market.buyer).available
    bid = ex.place_order(market.buyer, buy(PHYSICAL, 3, 2100))
    assert bid.status == "filled"
    assert bid.fills[0].price_ticks == 2000
    notional = 2000 * TICK * 3 * HOURS
    assert ex.balances(market.buyer).available == before - notional
    assert ex.balances(market.provider).cash == 0  # paid at delivery, not before
    assert ex.order(market.provider, ask.id).status == "partially_filled"
    position = ex.positions(market.buyer)[0]
    assert (position.qty, position.cost_micros) == (3, notional)
    assert ex.book(PHYSICAL).asks[0].qty == 1
    market.check()


def test_a_resting_buy_holds_its_notional_until_cancelled(market: Market) -> None:
    ex = market.exchange
    bid = ex.place_order(market.buyer, buy(PHYSICAL, 2, 1500))
    held = 1500 * TICK * 2 * HOURS
    assert bid.reserved_micros == held
    assert ex.balances(market.buyer).reserved == held
    market.check()
    ex.cancel_order(market.buyer, bid.id)
    assert ex.balances(market.buyer).reserved == 0
    with pytest.raises(InsufficientFundsError):  # USD 100,000 does not cover 100 lots at 2.00 x 744 h
        ex.place_order(market.buyer, buy(PHYSICAL, 100, 2000))
    with pytest.raises(NotFoundError):
        ex.cancel_order(market.seller, bid.id)  # another account's order is not found
    market.check()


def test_client_order_id_returns_the_original_or_refuses_a_different_order(market: Market) -> None:
    ex = market.exchange
    first = ex.place_order(market.buyer, buy(PHYSICAL, 1, 1000, client_order_id="c-1"))
    again = ex.place_order(market.buyer, buy(PHYSICAL, 1, 1000, client_order_id="c-1"))
    assert again.id == first.id
    assert ex.balances(market.buyer).reserved == first.reserved_micros
    with pytest.raises(DuplicateClientOrderIdError):
        ex.place_order(market.buyer, buy(PHYSICAL, 2, 1000, client_order_id="c-1"))
    # another account may use the same id
    ex.place_order(market.provider, sell(PHYSICAL, 1, 3000, client_order_id="c-1"))
    assert ex.order_by_client_id(market.buyer, "c-1").id == first.id
    market.check()


def test_engine_rejections_are_stored_and_repeat(market: Market) -> None:
    ex = market.exchange
    ex.place_order(market.provider, sell(PHYSICAL, 1, 2000))
    request = buy(PHYSICAL, 1, 2000, post_only=True, client_order_id="po")
    with pytest.raises(OrderRejectedError) as rejected:
        ex.place_order(market.buyer, request)
    assert rejected.value.code == "post_only_would_take"
    stored = ex.order_by_client_id(market.buyer, "po")
    assert (stored.status, stored.reason, stored.reserved_micros) == ("rejected", "post_only_would_take", 0)
    results = ex.place_orders([(market.buyer, request), (market.buyer, buy(PHYSICAL, 0, 2000))])
    assert isinstance(results[0], OrderRejectedError) is False
    assert results[0].status == "rejected"
    assert isinstance(results[1], InvalidQuantityError)
    assert ex.balances(market.buyer).reserved == 0
    market.check()


def test_amend_moves_the_hold_and_checks_funds_and_inventory(market: Market) -> None:
    ex = market.exchange
    bid = ex.place_order(market.buyer, buy(PHYSICAL, 4, 1000))
    ex.amend_order(market.buyer, bid.id, qty=2)
    assert ex.balances(market.buyer).reserved == 1000 * TICK * 2 * HOURS
    ex.amend_order(market.buyer, bid.id, price_ticks=1500)
    assert ex.balances(market.buyer).reserved == 1500 * TICK * 2 * HOURS
    # the API's decimal price is converted with the order's instrument inside the transaction
    assert ex.amend_order(market.buyer, bid.id, price="1.600").price_ticks == 1600
    with pytest.raises(OffTickError):
        ex.amend_order(market.buyer, bid.id, price="1.6005")
    with pytest.raises(InvalidRequestError):  # both forms: refused, as for a new order (not one ignored)
        ex.amend_order(market.buyer, bid.id, price_ticks=1700, price="1.800")
    assert ex.order(market.buyer, bid.id).price_ticks == 1600
    ex.amend_order(market.buyer, bid.id, price="1.500")
    with pytest.raises(InsufficientFundsError):
        ex.amend_order(market.buyer, bid.id, qty=100)
    ask = ex.place_order(market.provider, sell(PHYSICAL, 5, 3000))
    with pytest.raises(InventoryExceededError):
        ex.amend_order(market.provider, ask.id, qty=11)
    ex.amend_order(market.provider, ask.id, qty=10)
    order = ex.order(market.buyer, bid.id)
    assert order.filled + order.cancelled + order.open_qty == order.qty
    market.check()


def test_market_buy_holds_the_worst_reachable_price(market: Market) -> None:
    ex = market.exchange
    ex.place_order(market.provider, sell(PHYSICAL, 1, 2000))
    ex.place_order(market.provider, sell(PHYSICAL, 1, 2500))
    before = ex.balances(market.buyer).available
    order = ex.place_order(market.buyer, OrderRequest(PHYSICAL, "buy", 3, type="market"))
    assert (order.filled, order.status, order.reason) == (2, "expired", "no_liquidity")
    assert before - ex.balances(market.buyer).available == (2000 + 2500) * TICK * HOURS
    market.check()


def test_good_till_date_orders_expire_with_the_clock(market: Market) -> None:
    ex = market.exchange
    gtd = ex.place_order(
        market.buyer, buy(PHYSICAL, 1, 1000, tif="gtd", expire_at=market.clock.now + timedelta(minutes=5))
    )
    market.clock.advance(minutes=10)
    ex.place_order(market.buyer, buy(PHYSICAL, 1, 900))  # any command moves the engine clock
    expired = ex.order(market.buyer, gtd.id)
    assert (expired.status, expired.reason, expired.reserved_micros) == ("expired", "gtd", 0)
    market.check()


def test_halted_and_expired_instruments_do_not_trade(market: Market) -> None:
    ex = market.exchange
    ex.set_status(PHYSICAL, "halted")
    with pytest.raises(InstrumentNotOpenError):
        ex.place_order(market.buyer, buy(PHYSICAL, 1, 1000))
    ex.set_status(PHYSICAL, "open")
    ex.place_order(market.buyer, buy(PHYSICAL, 1, 1000))
    market.clock.now = DECEMBER  # delivery starts: trading stops
    with pytest.raises(InstrumentNotOpenError):
        ex.place_order(market.buyer, buy(PHYSICAL, 1, 1000))


def test_restart_rebuilds_the_same_books(market: Market, db_engine: sa.Engine) -> None:
    ex = market.exchange
    ex.place_order(market.provider, sell(PHYSICAL, 3, 2000, display_qty=1))
    ex.place_order(market.provider, sell(PHYSICAL, 2, 2100))
    ex.place_order(market.buyer, buy(PHYSICAL, 2, 2000))
    ex.place_order(market.buyer, buy(PHYSICAL, 1, 1900))
    before = ex.book(PHYSICAL)
    hash_before = ex._books().engine.state_hash()
    ex.close()
    again = Exchange(db_engine, clock=market.clock)
    again.start()
    assert again.book(PHYSICAL) == before
    assert again._books().engine.state_hash() == hash_before
    assert again.refused_books == frozenset()
    again.close()


def test_a_book_that_does_not_match_the_database_is_refused(market: Market, db_engine: sa.Engine) -> None:
    ex = market.exchange
    order = ex.place_order(market.provider, sell(PHYSICAL, 3, 2000))
    ex.close()
    with db_engine.begin() as connection:  # a row changed behind the service's back
        connection.execute(
            sa.text("UPDATE orders SET open_qty = 2, cancelled = 1 WHERE id = :i"), {"i": order.id}
        )
    again = Exchange(db_engine, clock=market.clock)
    again.start()
    assert again.refused_books == {PHYSICAL}
    with pytest.raises(RecoveryMismatchError):
        again.place_order(market.buyer, buy(PHYSICAL, 1, 2000))
    again.close()


def test_instruments_created_later_pick_up_covering_listings(market: Market) -> None:
    ex = market.exchange
    day = ex.create_forward("H100", "day", DECEMBER + timedelta(days=20))
    ex.place_order(market.provider, sell(day.symbol, 10, 500))
    with pytest.raises(InventoryExceededError):
        ex.place_order(market.provider, sell(day.symbol, 1, 500))
    assert day.window_end < JANUARY
    market.check()


def test_maker_and_taker_fees(market: Market) -> None:
    ex = market.exchange
    day = ex.create_forward(
        "H100", "day", DECEMBER + timedelta(days=3), maker_fee_ppm=1000, taker_fee_ppm=2000
    )
    ex.place_order(market.provider, sell(day.symbol, 2, 2000))  # maker
    before = ex.balances(market.buyer).available
    ex.place_order(market.buyer, buy(day.symbol, 2, 2000))  # taker
    notional = 2000 * TICK * 2 * 24
    assert before - ex.balances(market.buyer).available == notional + notional * 2000 // 10**6
    fills = ex.fills(market.provider)
    assert [(f.liquidity, f.fee_micros) for f in fills] == [("maker", notional // 1000)]
    market.check()  # escrow holds the notional less the provider's fee
    market.clock.now = day.window_start
    ex.settle()
    assert ex.balances(market.provider).available == 0  # paid day by day, once delivered
    (delivery,) = ex.deliveries(market.buyer)
    ex.attach_access(market.provider, delivery.id, "ssh://gpu.example")
    ex.confirm_delivery_day(market.buyer, delivery.id, to_epoch_us(day.window_start))
    assert ex.balances(market.provider).available == notional - notional // 1000
    market.check()


def test_stops_hold_at_entry_trigger_on_trades_and_survive_a_restart(
    market: Market, db_engine: sa.Engine
) -> None:
    ex = market.exchange
    stop = ex.place_order(
        market.buyer,
        OrderRequest(PHYSICAL, "buy", 2, type="stop_limit", price_ticks=2100, stop_price_ticks=2000),
    )
    assert stop.status == "open"
    assert stop.reserved_micros == 2100 * TICK * 2 * HOURS  # held at its limit from the start
    with pytest.raises(InvalidRequestError):  # nothing bounds a stop-market buy's price
        ex.place_order(
            market.buyer, OrderRequest(PHYSICAL, "buy", 1, type="stop_market", stop_price_ticks=2000)
        )
    ex.close()
    again = Exchange(db_engine, clock=market.clock)
    again.start()  # the pending stop is rebuilt outside the book
    assert again.refused_books == frozenset()
    again.place_order(market.provider, sell(PHYSICAL, 5, 2000))
    seller = again.create_account("other buyer", ["trader"]).account.id
    again.deposit(seller, 10**10, "x")
    again.place_order(seller, buy(PHYSICAL, 1, 2000))  # trades at 2000: the stop triggers and buys
    triggered = again.order(market.buyer, stop.id)
    assert (triggered.filled, triggered.status) == (2, "filled")
    assert again.balances(market.buyer).reserved == 0
    assert again.check() == []
    again.close()


def test_self_trade_prevention_releases_what_it_cancels(market: Market) -> None:
    ex = market.exchange
    ask = ex.place_order(market.provider, sell(PHYSICAL, 3, 2000))
    ex.create_account("both", ["provider", "trader"])
    both = next(a.id for a in ex.accounts() if a.name == "both")
    ex.deposit(both, 10**11, "b")
    ex.create_listing(both, "H100", 5, DECEMBER, JANUARY)
    own = ex.place_order(both, sell(PHYSICAL, 4, 1900))
    bid = ex.place_order(both, buy(PHYSICAL, 3, 2000, stp="decrement"))
    # the taker met its own ask first: both shrink by 3 without a trade, and nothing is held for them
    assert (bid.filled, bid.cancelled, bid.status) == (0, 3, "expired")
    assert ex.order(both, own.id).open_qty == 1
    assert ex.balances(both).reserved == 0
    assert ex.order(market.provider, ask.id).filled == 0
    assert [o.id for o in ex.cancel_orders(both)] == [own.id]
    market.check()


def test_absurd_notionals_and_amounts_are_refused(market: Market) -> None:
    ex = market.exchange
    with pytest.raises(InvalidRequestError) as absurd:
        ex.place_order(market.buyer, buy(PHYSICAL, 10**9, 10**12))
    assert absurd.value.field == "quantity"
    with pytest.raises(InvalidAmountError):
        ex.deposit(market.buyer, 2**63, "too-much")
    market.check()
