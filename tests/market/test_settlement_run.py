"""One settlement run on its own (:func:`market.settlement.run` in a unit of work): at delivery start a
physical forward expires, its resting orders are cancelled with their holds released, the GPUs go to
the long positions and the escrow to the provider; a second run finds nothing left to do."""

from __future__ import annotations

from market import settlement
from market.ledger import AVAILABLE, ESCROW, RESERVED, SYSTEM
from market.records import OrderRequest
from tests.market.conftest import DECEMBER, JANUARY, PHYSICAL, Market

NOTIONAL = 2000 * 744_000  # 2,000 ticks x 1,000 micro-dollars x 744 GPU-hours, one GPU a lot


def test_delivery_run_expires_delivers_and_pays_escrow_once(market: Market) -> None:
    ex, house = market.exchange, market.exchange._house
    ex.place_order(market.provider, OrderRequest(symbol=PHYSICAL, side="sell", qty=1, price_ticks=2000))
    ex.place_order(market.buyer, OrderRequest(symbol=PHYSICAL, side="buy", qty=1, price_ticks=2000))
    resting = ex.place_order(
        market.seller, OrderRequest(symbol=PHYSICAL, side="buy", qty=1, price_ticks=1500)
    )
    assert ex.balances(market.seller).reserved == 1500 * 744_000
    provider_before = ex.balances(market.provider).available

    market.clock.now = DECEMBER
    with house.transaction() as uow:
        report = settlement.run(uow, house.books())
        assert uow.ledger.balance(SYSTEM, ESCROW) == NOTIONAL  # now owed day by day
        assert uow.ledger.balance(market.seller, RESERVED) == 0
        assert uow.ledger.balance(market.provider, AVAILABLE) == provider_before
    assert PHYSICAL in report.expired
    assert PHYSICAL in report.delivered
    assert report.cash_settled == ()
    assert ex.instrument(PHYSICAL).status == "settled"
    cancelled = ex.order(market.seller, resting.id)
    assert (cancelled.status, cancelled.reason) == ("cancelled", "instrument_expired")
    [delivery] = ex.deliveries(market.buyer)
    assert (delivery.symbol, delivery.buyer_id, delivery.provider_id, delivery.gpus) == (
        PHYSICAL,
        market.buyer,
        market.provider,
        1,
    )
    assert (delivery.window_start, delivery.window_end) == (DECEMBER, JANUARY)
    market.check()

    with house.transaction() as uow:
        again = settlement.run(uow, house.books())
    assert PHYSICAL not in again.expired + again.delivered
    assert ex.balances(market.provider).available == provider_before  # nothing paid twice or early
    assert len(ex.deliveries(market.provider)) == 1
    market.check()
