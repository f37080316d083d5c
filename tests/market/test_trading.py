"""Trading on its own (account and risk checks, holds, trades), driven through one unit of work at a
time; every figure is worked by hand from the module docstring of :mod:`market.trading`.

H100-2026-12 is a physical month forward: tick USD 0.001 (1,000 micro-dollars), one GPU a lot, 744
hours, so a tick of one lot is worth 744,000 micro-dollars; a price of 2,000 ticks (USD 2/GPU-hour)
makes a notional of 1,488,000,000 micro-dollars a lot.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict, replace

import pytest

from market.contracts import fee
from market.errors import (
    ForbiddenError,
    InsufficientFundsError,
    InvalidRequestError,
    InventoryExceededError,
    NoMarkError,
    OffTickError,
    UnknownInstrumentError,
)
from market.instruments import Instrument
from market.ledger import AVAILABLE, ESCROW, RESERVED, SYSTEM
from market.records import OrderRequest
from tests.market.conftest import CASH, PHYSICAL, Market

NOTIONAL = 2000 * 744_000


def test_multiplier_and_fee_by_hand(market: Market) -> None:
    inst = market.exchange._books().instrument(PHYSICAL)
    assert inst.multiplier == 1000 * 1 * 744
    assert replace(inst, lot_gpus=8, tick_micros=10).multiplier == 10 * 8 * 744
    assert fee(1_000_000, 2_500) == 2_500
    assert fee(999, 1_000) == 0  # rounded down to the micro-dollar


def test_the_books_hold_typed_immutable_instruments(market: Market) -> None:
    """An instrument is a frozen value: a change is a revision the books swap in, never an edit."""
    trading = market.exchange._books()
    physical, cash = trading.instrument(PHYSICAL), trading.instrument(CASH)
    assert (physical.is_physical, physical.pays_premium, physical.margined) == (True, True, False)
    assert (cash.is_physical, cash.pays_premium, cash.margined) == (False, False, True)
    assert (physical.gpu_hours, physical.hours) == (744, 744)
    with pytest.raises(FrozenInstanceError):
        physical.status = "halted"  # type: ignore[misc]
    assert Instrument.of({**asdict(physical), "qty": 3}) == physical  # a join's other columns are ignored
    revised = trading.revise(PHYSICAL, status="halted")
    assert (revised.status, physical.status, trading.instrument(PHYSICAL)) == ("halted", "open", revised)
    trading.revise(PHYSICAL, status="open")


def test_a_physical_buy_holds_its_notional_and_a_sell_holds_gpus(market: Market) -> None:
    house, trading = market.exchange._house, market.exchange._books()
    buy = OrderRequest(symbol=PHYSICAL, side="buy", qty=2, price_ticks=2000)
    sell = OrderRequest(symbol=PHYSICAL, side="sell", qty=3, price_ticks=2500)
    with house.transaction() as uow:
        bid = trading.new_order(uow, market.buyer, ("trader",), buy)
        ask = trading.new_order(uow, market.provider, ("provider",), sell)
        assert (bid["reserve_per_lot"], bid["reserved_micros"]) == (NOTIONAL, 2 * NOTIONAL)
        assert (ask["reserved_micros"], ask["reserved_gpus"]) == (0, 3)
        assert uow.ledger.balance(market.buyer, RESERVED) == 2 * NOTIONAL
        assert uow.inventory(PHYSICAL, market.provider)["reserved_gpus"] == 3
        assert trading.offerable_gpus(uow, trading.instrument(PHYSICAL), market.provider) == 10 - 3
    assert market.exchange.balances(market.buyer).reserved == 2 * NOTIONAL
    market.check()


def test_a_trade_releases_the_hold_and_pays_escrow_at_the_makers_price(market: Market) -> None:
    house, trading = market.exchange._house, market.exchange._books()
    before = market.exchange.balances(market.buyer).available
    with house.transaction() as uow:
        trading.new_order(
            uow,
            market.provider,
            ("provider",),
            OrderRequest(symbol=PHYSICAL, side="sell", qty=1, price_ticks=2000),
        )
        taker = trading.new_order(
            uow, market.buyer, ("trader",), OrderRequest(symbol=PHYSICAL, side="buy", qty=1, price_ticks=2100)
        )
        assert (taker["status"], taker["filled"], taker["open_qty"]) == ("filled", 1, 0)
        assert uow.ledger.balance(market.buyer, RESERVED) == 0  # the hold at 2,100 is released in full
        assert uow.ledger.balance(SYSTEM, ESCROW) == NOTIONAL  # paid at the maker's 2,000
        assert [(t["price_ticks"], t["qty"], t["notional_micros"]) for t in uow.trades] == [
            (2000, 1, NOTIONAL)
        ]
        assert uow.position(market.buyer, PHYSICAL)["qty"] == 1
        assert uow.position(market.provider, PHYSICAL)["qty"] == -1
        assert uow.inventory(PHYSICAL, market.provider)["sold_gpus"] == 1
    assert market.exchange.balances(market.buyer).available == before - NOTIONAL
    market.check()


def test_cancel_releases_the_hold(market: Market) -> None:
    house, trading = market.exchange._house, market.exchange._books()
    with house.transaction() as uow:
        row = trading.new_order(
            uow, market.buyer, ("trader",), OrderRequest(symbol=PHYSICAL, side="buy", qty=1, price_ticks=1500)
        )
    with house.transaction() as uow:
        cancelled, rejection = trading.cancel(uow, market.buyer, row["id"])
        assert rejection is None
        assert cancelled["status"] == "cancelled"
        assert uow.ledger.balance(market.buyer, RESERVED) == 0
    market.check()


def test_account_and_risk_checks(market: Market) -> None:
    house, trading = market.exchange._house, market.exchange._books()
    with house.transaction() as uow:
        with pytest.raises(ForbiddenError, match="needs the role provider"):
            trading.new_order(
                uow,
                market.buyer,
                ("trader",),
                OrderRequest(symbol=PHYSICAL, side="sell", qty=1, price_ticks=2000),
            )
        with pytest.raises(InventoryExceededError, match="10 unsold"):
            trading.new_order(
                uow,
                market.provider,
                ("provider",),
                OrderRequest(symbol=PHYSICAL, side="sell", qty=11, price_ticks=2000),
            )
        # USD 100,000 buys 67 lots at 2,000 (1,488 dollars a lot) but not 68
        with pytest.raises(InsufficientFundsError):
            trading.new_order(
                uow,
                market.buyer,
                ("trader",),
                OrderRequest(symbol=PHYSICAL, side="buy", qty=68, price_ticks=2000),
            )
        assert uow.ledger.balance(market.buyer, AVAILABLE) == 100_000_000_000
        with pytest.raises(NoMarkError):  # a cash forward holds margin, which needs a mark first
            trading.new_order(
                uow, market.buyer, ("trader",), OrderRequest(symbol=CASH, side="buy", qty=1, price_ticks=2000)
            )
    market.check()


def test_decimal_prices_are_converted_with_the_instrument_the_books_hold(market: Market) -> None:
    """An order may carry the price the client wrote; trading converts it with the instrument's tick
    (USD 0.001 here), names the offending field, and digests the converted order, so a resend in
    either form is recognised as the same order."""
    trading = market.exchange._books()
    written = OrderRequest(
        PHYSICAL, "sell", 1, type="trailing_stop_limit", price="2.1", trail="0.05", activation_price="2.2"
    )
    in_ticks = OrderRequest(
        PHYSICAL, "sell", 1, type="trailing_stop_limit", price_ticks=2100, trail_ticks=50,
        activation_price_ticks=2200,
    )  # fmt: skip
    assert trading.priced(written) == in_ticks
    assert trading.priced(in_ticks) is in_ticks
    with pytest.raises(OffTickError) as off:
        trading.priced(OrderRequest(PHYSICAL, "buy", 1, type="stop_limit", price="2", stop_price="2.0005"))
    assert off.value.field == "stop_price"
    with pytest.raises(InvalidRequestError) as both:
        trading.priced(OrderRequest(PHYSICAL, "buy", 1, price="2", price_ticks=2000))
    assert both.value.field == "price"
    with pytest.raises(UnknownInstrumentError):
        trading.priced(OrderRequest("H100-1999-01", "buy", 1, price="2"))
    first = market.exchange.place_order(
        market.buyer, OrderRequest(PHYSICAL, "buy", 1, price="1.5", client_order_id="c-1")
    )
    again = market.exchange.place_order(
        market.buyer, OrderRequest(PHYSICAL, "buy", 1, price_ticks=1500, client_order_id="c-1")
    )
    assert (first.price_ticks, again.id) == (1500, first.id)
    market.check()
