"""The stream publishes an order commit from what the use case returned (:class:`market.records.Changes`)
exactly as it did by reading books, trades, fills and orders back after the commit: two hubs with the
same subscribers, one told each commit's changes and one reading back, receive the same messages
(same order updates, book deltas with the same ``seq``/``prev_seq``, same trades) for a fill of a
resting order, a partial fill, an amend, a cancel, a one-cancels-other pair and a mass cancel."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import anyio
import pytest

import api.publish
from api.context import ApiContext
from api.publish import announce, load_book, start_fills, start_trades
from api.stream import StreamHub, Subscriber
from market.records import Committed, OrderInfo, OrderRequest
from tests.api.conftest import Market


def _hub(ctx: ApiContext, symbol: str, accounts: list[str]) -> tuple[ApiContext, list[Subscriber]]:
    """A context with its own hub, where each account follows its orders, the book and the trades."""
    mine = replace(ctx, hub=StreamHub())

    async def follow() -> list[Subscriber]:
        subscribers = []
        for account in accounts:
            subscriber = Subscriber.create()
            subscriber.account_id = account
            await start_fills(mine, account)
            mine.hub.subscribe(subscriber, "orders")
            await start_trades(mine, symbol)
            mine.hub.subscribe(subscriber, f"trades.{symbol}")
            mine.hub.subscribe(subscriber, f"book.{symbol}", await load_book(mine, symbol))
            subscribers.append(subscriber)
        return subscribers

    return mine, asyncio.run(follow())


class NoReadBack:
    """The exchange, except that the reads a publisher could make after the commit fail."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange

    def __getattr__(self, name: str) -> Any:
        if name in ("book", "trades", "fills", "order", "pair", "orders"):
            raise AssertionError(f"read back after the commit: {name}")
        return getattr(self._exchange, name)


def _drain(subscriber: Subscriber) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(subscriber.receive.receive_nowait())
        except anyio.WouldBlock:
            return messages


def test_publishing_from_the_change_set_sends_what_reading_back_sent(market: Market) -> None:
    ctx: ApiContext = market.client.app.state.ctx
    ex, symbol = ctx.exchange, market.symbol
    provider, trader, trader2 = (market.ids[n] for n in ("provider", "trader", "trader2"))
    accounts = [provider, trader, trader2]
    told, read = _hub(ctx, symbol, accounts), _hub(ctx, symbol, accounts)
    for subscriber in (*told[1], *read[1]):
        assert [m["type"] for m in _drain(subscriber)] == ["snapshot"]
    told = (replace(told[0], exchange=NoReadBack(ex)), told[1])

    def both(committed: Committed[Any]) -> list[list[dict[str, Any]]]:
        value = committed.value
        orders = [value] if isinstance(value, OrderInfo) else [o for o in value if isinstance(o, OrderInfo)]
        asyncio.run(announce(told[0], orders, changes=committed.changes))
        asyncio.run(announce(read[0], orders))
        sent = [_drain(s) for s in told[1]]
        assert sent == [_drain(s) for s in read[1]]
        assert told[0].hub.trades_through() == committed.changes.last_trade_id
        return sent

    def place(account: str, side: str, qty: int, price: str) -> Committed[Any]:
        return ex.place_orders_committed([(account, OrderRequest(symbol, side, qty, price=price))])

    resting = both(place(provider, "sell", 4, "2.500"))
    assert [m["type"] for m in resting[0]] == ["order", "delta"]
    filled = both(place(trader, "buy", 3, "2.500"))  # the provider's resting order is filled by another
    assert [m["type"] for m in filled[0]] == ["order", "delta", "trade"]
    assert [m["order"]["status"] for m in filled[0][:1]] == ["partially_filled"]
    bid = both(place(trader2, "buy", 2, "2.400"))[2][0]["order"]
    amended = both(ex.amend_order_committed(trader2, bid["id"], qty=1, price="2.450"))
    assert amended[2][0]["order"]["price"] == "2.450"
    both(place(trader2, "buy", 2, "2.500"))  # takes the provider's last lot, rests the other
    both(ex.cancel_order_committed(trader2, bid["id"]))
    pair = (
        OrderRequest(symbol, "sell", 1, price="2.600"),
        OrderRequest(symbol, "sell", 1, type="stop_limit", price="2.000", stop_price="2.100"),
    )
    legs = both(ex.place_oco_committed(provider, pair))
    assert [m["order"]["link_id"] is not None for m in legs[0] if m["type"] == "order"] == [True, True]
    both(ex.cancel_orders_committed(provider))  # both legs close: one cancel, two order updates


def test_trades_the_stream_was_not_told_of_are_read_back(market: Market) -> None:
    """A trade committed without its changes reaching the stream (here placed behind its back) comes
    before the next change set's ``since_trade_id``: that announcement reads trades and fills back, so
    the trade is still published, as reading back always did."""
    ctx: ApiContext = market.client.app.state.ctx
    ex, symbol = ctx.exchange, market.symbol
    provider, trader = market.ids["provider"], market.ids["trader"]
    told, read = _hub(ctx, symbol, [provider, trader]), _hub(ctx, symbol, [provider, trader])
    for subscriber in (*told[1], *read[1]):
        _drain(subscriber)
    ex.place_orders([(provider, OrderRequest(symbol, "sell", 2, price="2.5"))])
    ex.place_orders([(trader, OrderRequest(symbol, "buy", 1, price="2.5"))])  # a trade nobody announced
    committed = ex.place_orders_committed([(trader, OrderRequest(symbol, "buy", 1, price="2.0"))])
    assert committed.changes.since_trade_id > told[0].hub.trades_through()
    asyncio.run(announce(told[0], committed.value, changes=committed.changes))
    asyncio.run(announce(read[0], committed.value))
    sent = [_drain(s) for s in told[1]]
    assert sent == [_drain(s) for s in read[1]]
    assert [m["type"] for m in sent[0]] == ["order", "delta", "trade"]  # the provider's fill, the trade
    assert told[0].hub.trades_through() == committed.changes.last_trade_id


def test_a_read_back_reaches_past_one_page(market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    """More unannounced trades than one page: the read-back publishes them all (it once read a single
    page and then told the hub every trade up to the commit was announced, so the rest, and their fills'
    order updates, were never published)."""
    monkeypatch.setattr(api.publish, "TRADE_PAGE", 2)
    ctx: ApiContext = market.client.app.state.ctx
    ex, symbol = ctx.exchange, market.symbol
    provider, trader = market.ids["provider"], market.ids["trader"]
    told = _hub(ctx, symbol, [provider, trader])
    for subscriber in told[1]:
        _drain(subscriber)
    ex.place_orders([(provider, OrderRequest(symbol, "sell", 3, price="2.5"))])
    unannounced = [ex.place_order(trader, OrderRequest(symbol, "buy", 1, price="2.5")).id for _ in range(3)]
    committed = ex.place_orders_committed([(trader, OrderRequest(symbol, "buy", 1, price="2.0"))])
    asyncio.run(announce(told[0], committed.value, changes=committed.changes))
    sent = _drain(told[1][1])  # the trader's subscriber
    assert len([m for m in sent if m["type"] == "trade"]) == 3
    updated = {m["order"]["id"] for m in sent if m["type"] == "order"}
    assert set(unannounced) <= updated
