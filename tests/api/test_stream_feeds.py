"""The stream's state channels (issue 21): private positions and balances, public candles, mark and
index; snapshots then updates chained by seq/prev_seq from durable numbers, across a restart too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from market import db
from market.service import Exchange
from tests.api.conftest import Clock, Market, make_client
from tests.api.test_stream import Inbox


def _on(channel: str, kind: str | None = None) -> Any:
    return lambda m: m.get("channel") == channel and (kind is None or m.get("type") == kind)


def _fixings(market: Market, hours: int, offset: int = 0) -> list[dict[str, str]]:
    now = market.clock.now.replace(minute=0, second=0, microsecond=0)
    return [
        {
            "at": (now - timedelta(hours=hours - i)).isoformat(),
            "price": f"{2.40 + 0.01 * ((i + offset) % 3):.2f}",
        }
        for i in range(hours)
    ]


def test_state_channels_start_with_a_snapshot_and_chain_their_updates(any_market: Market) -> None:
    market = any_market
    symbol = market.symbol
    candles = f"candles.1h.{symbol}"
    with market.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "subscribe", "channels": ["balances"]})
        assert inbox.take(lambda m: m.get("type") == "error")["code"] == "invalid_channel"  # auth first
        ws.send_json({"op": "auth", "key": market.keys["trader"]})
        inbox.take(lambda m: m.get("type") == "authenticated")
        ws.send_json({"op": "subscribe", "channels": ["balances", "positions", candles, "index.H100"]})
        balances = inbox.take(_on("balances", "snapshot"))
        assert balances["balances"]["cash"] == "1000000.000000"
        assert balances["seq"] > 0
        assert inbox.take(_on("positions", "snapshot"))["positions"] == []
        assert inbox.take(_on(candles, "snapshot"))["candles"] == []
        index = inbox.take(_on("index.H100", "snapshot"))
        assert (index["seq"], index["fixings"]) == (0, [])

        sell = {"symbol": symbol, "side": "sell", "quantity": 2, "price": "2.500"}
        market.ok("POST", "/v1/orders", "provider", 201, json=sell)
        market.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})
        paid = inbox.take(_on("balances", "update"))
        assert paid["prev_seq"] == balances["seq"]
        assert paid["seq"] > balances["seq"]
        assert paid["balances"]["cash"] != balances["balances"]["cash"]
        position = inbox.take(_on("positions", "update"))
        assert [(p["symbol"], p["quantity"]) for p in position["positions"]] == [(symbol, 2)]
        candle = inbox.take(_on(candles, "update"))
        assert candle["prev_seq"] == 0
        assert [(c["close"], c["volume"]) for c in candle["candles"]] == [("2.500", 2)]
        assert candle["candles"][0]["start"].endswith(":00:00Z")

        market.ok("POST", "/v1/orders", "provider", 201, json={**sell, "quantity": 1, "price": "2.600"})
        market.ok(
            "POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy", "quantity": 1, "price": "2.600"}
        )
        again = inbox.take(_on(candles, "update"))
        assert again["prev_seq"] == candle["seq"]
        assert [(c["high"], c["close"], c["volume"]) for c in again["candles"]] == [("2.600", "2.600", 3)]

        market.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": _fixings(market, 30)})
        fixed = inbox.take(_on("index.H100", "update"))
        assert fixed["prev_seq"] == 0
        assert len(fixed["fixings"]) == 30
        ws.send_json({"op": "subscribe", "channels": [f"mark.{symbol}"]})
        mark = inbox.take(_on(f"mark.{symbol}", "snapshot"))
        assert len(mark["mark"]["mark"].partition(".")[2]) == 3  # to the tick
        market.clock.now += timedelta(minutes=1)
        correction = [{**_fixings(market, 1, offset=1)[0]}]
        market.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": correction})
        revised = inbox.take(_on("index.H100", "update"))
        assert revised["prev_seq"] == fixed["seq"]
        assert inbox.take(_on(f"mark.{symbol}", "update"))["prev_seq"] == mark["seq"]


def test_state_channels_number_across_a_restart(sqlite_url: str) -> None:
    clock = Clock()
    engine = db.make_engine(sqlite_url)
    created = Exchange(engine, clock=clock).create_account("bot", ["trader", "admin"])
    engine.dispose()
    key, account = created.api_key, created.account.id
    auth = {"Authorization": f"Bearer {key}"}
    deposit = f"/v1/accounts/{account}/deposits"
    with make_client(sqlite_url, clock=clock) as client, client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": key})
        ws.send_json({"op": "subscribe", "channels": ["balances"]})
        first = inbox.take(_on("balances", "snapshot"))
        client.post(deposit, json={"amount": "100"}, headers=auth)
        last = inbox.take(_on("balances", "update"))
        assert last["prev_seq"] == first["seq"]
    engine = db.make_engine(sqlite_url)  # while the server is down, the account's cash moves
    Exchange(engine, clock=clock).deposit(account, 5_000_000, "offline")
    engine.dispose()
    with make_client(sqlite_url, clock=clock) as client, client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": key})
        ws.send_json({"op": "subscribe", "channels": ["balances"]})
        back = inbox.take(_on("balances", "snapshot"))
        assert back["seq"] > last["seq"]  # the client sees it missed a change, and the snapshot has it
        assert back["balances"]["cash"] == "105.000000"
        client.post(deposit, json={"amount": "1"}, headers=auth)
        assert inbox.take(_on("balances", "update"))["prev_seq"] == back["seq"]
