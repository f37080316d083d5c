"""The typed Python client (issue 21): REST calls in process, the stream's gap detection, and a
stream that outlives a server restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from api.client import Client, FlopexError, GapDetector, Stream
from market import db
from market.service import Exchange
from tests.api.conftest import Market
from tests.api.live_server import free_port, serving


def test_the_client_trades_and_reads_market_data(market: Market) -> None:
    trader = Client(http=market.client, key=market.keys["trader"])
    provider = Client(http=market.client, key=market.keys["provider"])
    symbol = market.symbol
    provider.place(symbol, "sell", 3, "2.500")
    bought = trader.place(symbol, "buy", 2, "2.500", client_order_id="client-1")
    assert (bought.status, bought.fills[0].price) == ("filled", "2.500")
    results = trader.place_batch(
        [{"symbol": symbol, "side": "buy", "quantity": 1, "price": p} for p in ("2.100", "2.1005")]
    ).results
    assert results[0].order is not None
    assert results[1].error is not None
    assert results[1].error.code == "off_tick"
    with pytest.raises(FlopexError) as refused:
        trader.place(symbol, "buy", 1, "2.1005")
    assert (refused.value.status, refused.value.code) == (400, "off_tick")
    book = trader.book(symbol)
    assert (book.bids, book.asks) == ([("2.100", 1)], [("2.500", 1)])
    assert [t.quantity for t in trader.trades(symbol, order="desc")] == [2]
    (candle,) = trader.candles(symbol, "1h")
    assert (candle.close, candle.volume, candle.start.minute) == ("2.500", 2, 0)
    assert trader.ticker(symbol).last == "2.500"
    assert [f.symbol for f in trader.fees()] == [symbol]
    assert trader.time().time > market.clock.now - timedelta(seconds=1)
    assert [f.quantity for f in trader.fills()] == [2]
    assert [p.quantity for p in trader.positions()] == [2]
    assert next(trader.ledger(order="desc")).id > 0
    timer = trader.cancel_all_after(30)
    assert timer.armed
    assert [o.price for o in trader.orders(status="live")] == ["2.100"]
    amended = trader.amend(results[0].order.id, quantity=3)
    assert amended.open_quantity == 3
    assert [o.id for o in trader.cancel_all()] == [amended.id]
    assert trader.order(amended.id).status == "cancelled"


def test_the_gap_detector_follows_each_channel_chain() -> None:
    gaps = GapDetector()
    assert gaps.accept({"channel": "book.X", "type": "snapshot", "seq": 10, "prev_seq": None})
    assert gaps.accept({"channel": "book.X", "type": "delta", "seq": 14, "prev_seq": 10})
    assert gaps.accept({"channel": "trades.X", "type": "trade", "seq": 7, "prev_seq": 6})  # joins late
    assert gaps.accept({"channel": "trades.X", "type": "trade", "seq": 8, "prev_seq": 7})
    assert not gaps.accept({"channel": "book.X", "type": "delta", "seq": 20, "prev_seq": 17})
    assert gaps.accept({"channel": "book.X", "type": "snapshot", "seq": 20, "prev_seq": None})
    assert gaps.accept({"type": "heartbeat"})


@pytest.mark.slow  # two real server starts: about a minute on the shared machine
def test_the_stream_resubscribes_after_a_server_restart(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    created = Exchange(engine).create_account("bot", ["trader", "admin"])
    engine.dispose()
    key, account = created.api_key, created.account.id
    port = free_port()

    async def scenario() -> None:
        stream = Stream(f"ws://127.0.0.1:{port}/v1/stream", ["balances"], key, retry_seconds=0.2)
        messages = stream.__aiter__()
        with serving(sqlite_url, port=port) as (http, _):
            client = Client(http=http, key=key)
            first = await asyncio.wait_for(anext(messages), 30)
            await asyncio.to_thread(
                client._call, "POST", f"/v1/accounts/{account}/deposits", dict, json={"amount": "10"}
            )
            second = await asyncio.wait_for(anext(messages), 30)
            assert (first["type"], second["type"], second["prev_seq"]) == ("snapshot", "update", first["seq"])
        offline = db.make_engine(sqlite_url)  # the server is down; the account's cash moves meanwhile
        Exchange(offline).deposit(account, 5_000_000, "while-down")
        offline.dispose()
        with serving(sqlite_url, port=port):
            third = await asyncio.wait_for(anext(messages), 60)
        await messages.aclose()
        assert third["type"] == "snapshot"
        assert third["seq"] > second["seq"]  # a change while away shows as a larger number
        assert third["balances"]["cash"] == "15.000000"
        assert stream.reconnects >= 1

    asyncio.run(scenario())


def test_the_client_follows_421_through_a_standby_and_a_shard_to_the_holder() -> None:
    """A standby names a shard, which names the holder: two hops, then the holder's answer; a third
    421 is raised (a loop between stale registries never spins)."""
    seen: list[str] = []
    book = {"symbol": "H100-2027-01", "sequence": 7, "bids": [], "asks": []}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.headers.get("authorization") != "Bearer k":
            return httpx.Response(401)
        nxt = {"standby": "http://shard", "shard": "http://holder", "loop": "http://loop"}.get(request.url.host)
        if nxt is not None:
            body = {"status": 421, "code": "book_elsewhere", "title": "x", "detail": "x", "owner": nxt}
            return httpx.Response(421, json=body)
        return httpx.Response(200, json=book)

    with httpx.Client(base_url="http://standby", transport=httpx.MockTransport(answer)) as http:
        assert Client(http=http, key="k").book("H100-2027-01").sequence == 7
    assert seen == ["standby", "shard", "holder"]
    loop = httpx.Client(base_url="http://loop", transport=httpx.MockTransport(answer))
    with loop as http, pytest.raises(FlopexError) as raised:
        Client(http=http, key="k").book("H100-2027-01")
    assert raised.value.code == "book_elsewhere"
