"""What an order use case's commit changed (:class:`market.records.Changes`) is exactly what the
database and the books hold afterwards: every changed order (with all its fills, earlier ones
included), the other legs of their pairs, the commit's trades and the books it moved."""

from __future__ import annotations

from market.records import Changes, OrderRequest
from tests.market.conftest import PHYSICAL, Market


def _as_stored(market: Market, changes: Changes) -> None:
    """Each record of ``changes`` equals what the queries read back after the commit."""
    ex = market.exchange
    assert list(changes.orders) == [ex.order(o.account_id, o.id) for o in changes.orders]
    assert list(changes.trades) == ex.trades(PHYSICAL, after=changes.since_trade_id)
    assert list(changes.books) == [ex.book(b.symbol) for b in changes.books]
    assert changes.last_trade_id == (changes.trades[-1].id if changes.trades else changes.since_trade_id)


def test_a_fill_of_an_order_that_had_traded_before_carries_all_its_fills(market: Market) -> None:
    ex = market.exchange
    sell = ex.place_orders_committed([(market.provider, OrderRequest(PHYSICAL, "sell", 5, price_ticks=2000))])
    maker = sell.value[0]
    assert [o.id for o in sell.changes.orders] == [maker.id]
    assert sell.changes.trades == ()
    _as_stored(market, sell.changes)
    first = ex.place_orders_committed([(market.buyer, OrderRequest(PHYSICAL, "buy", 2, price="2.1"))])
    _as_stored(market, first.changes)
    second = ex.place_orders_committed([(market.buyer, OrderRequest(PHYSICAL, "buy", 1, price_ticks=2000))])
    _as_stored(market, second.changes)
    assert second.changes.since_trade_id == first.changes.last_trade_id
    resting = second.changes.order(maker.id)
    assert resting is not None
    assert [f.qty for f in resting.fills] == [2, 1]  # the earlier fill too
    assert (resting.filled, resting.open_qty) == (3, 2)
    assert second.value[0] == second.changes.order(second.value[0].id)
    book = second.changes.book(PHYSICAL)
    assert book is not None
    assert [(lvl.price_ticks, lvl.qty) for lvl in book.asks] == [(2000, 2)]
    market.check()


def test_amend_cancel_and_a_pair_return_what_they_changed(market: Market) -> None:
    ex = market.exchange
    bid = ex.place_order(market.buyer, OrderRequest(PHYSICAL, "buy", 4, price_ticks=1500))
    amended = ex.amend_order_committed(market.buyer, bid.id, qty=2, price="1.6")
    assert (amended.value.open_qty, amended.value.price_ticks) == (2, 1600)
    assert amended.changes.orders == (amended.value,)
    _as_stored(market, amended.changes)
    legs = ex.place_oco_committed(
        market.buyer,
        (
            OrderRequest(PHYSICAL, "buy", 1, price_ticks=1400),
            OrderRequest(PHYSICAL, "buy", 1, type="stop_limit", price_ticks=2600, stop_price_ticks=2500),
        ),
    )
    _as_stored(market, legs.changes)
    # amending one leg leaves the other alone; the change set still holds it (the stream shows both)
    take_profit, stop = legs.value
    moved = ex.amend_order_committed(market.buyer, take_profit.id, price_ticks=1450)
    assert [o.id for o in moved.changes.orders] == [take_profit.id, stop.id]
    _as_stored(market, moved.changes)
    cancelled = ex.cancel_order_committed(market.buyer, stop.id)  # cancels its pair in the same command
    assert {o.id: o.status for o in cancelled.changes.orders} == {
        stop.id: "cancelled",
        take_profit.id: "cancelled",
    }
    _as_stored(market, cancelled.changes)
    every = ex.cancel_orders_committed(market.buyer)
    assert [(o.id, o.status) for o in every.value] == [(bid.id, "cancelled")]
    _as_stored(market, every.changes)
    market.check()


def test_the_plain_methods_answer_as_the_committed_ones_without_gathering_the_changes(market: Market) -> None:
    """``place_orders`` & co. skip gathering what the commit changed (``market.changes.answers_only``)
    and still answer with the records the database holds -- an order that had traded before included."""
    ex = market.exchange
    maker = ex.place_orders([(market.provider, OrderRequest(PHYSICAL, "sell", 5, price_ticks=2000))])[0]
    assert maker == ex.order(market.provider, maker.id)
    taken = ex.place_orders([(market.buyer, OrderRequest(PHYSICAL, "buy", 2, price_ticks=2000))])
    assert taken == [ex.order(market.buyer, taken[0].id)]
    assert [f.qty for f in taken[0].fills] == [2]
    # the maker traded in an earlier commit: its record is read, with both fills
    amended = ex.amend_order(market.provider, maker.id, qty=2)
    assert amended == ex.order(market.provider, maker.id)
    assert ([f.qty for f in amended.fills], amended.open_qty) == ([2], 2)
    again = ex.place_orders([(market.buyer, OrderRequest(PHYSICAL, "buy", 1, price_ticks=2000))])[0]
    assert again == ex.order(market.buyer, again.id)
    assert [f.qty for f in ex.order(market.provider, maker.id).fills] == [2, 1]
    cancelled = ex.cancel_order(market.provider, maker.id)
    assert cancelled == ex.order(market.provider, maker.id)
    assert (cancelled.status, [f.qty for f in cancelled.fills]) == ("cancelled", [2, 1])
    market.check()
