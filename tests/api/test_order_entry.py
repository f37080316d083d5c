"""Batch order entry, the dead-man switch and cancel-on-disconnect over HTTP (issue 21)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from market import db
from market.records import OrderRequest
from market.service import Exchange
from tests.api.conftest import Clock, Market, make_client, next_month_start
from tests.api.test_routes import assert_problem
from tests.api.test_stream import Inbox


def _order(market: Market, side: str, price: str, **extra: object) -> dict:
    return {"symbol": market.symbol, "side": side, "quantity": 1, "price": price, **extra}


def test_a_batch_gives_each_order_its_own_outcome(any_market: Market) -> None:
    market = any_market
    market.ok("POST", "/v1/orders", "provider", 201, json=_order(market, "sell", "2.500"))
    batch = [
        _order(market, "buy", "2.400", client_order_id="b-rest"),
        _order(market, "buy", "2.4005"),
        _order(market, "buy", "2.500", post_only=True),
        _order(market, "buy", "2.500", client_order_id="b-take"),
        {**_order(market, "buy", "2.400"), "symbol": "H100-2099-01"},
    ]
    results = market.ok("POST", "/v1/orders/batch", "trader", json={"orders": batch})["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    rest, off_tick, post_only, take, unknown = results
    assert (rest["order"]["status"], rest["error"]) == ("open", None)
    assert off_tick["order"] is None
    assert (off_tick["error"]["code"], off_tick["error"]["status"], off_tick["error"]["field"]) == (
        "off_tick",
        400,
        "price",
    )
    assert post_only["order"]["status"] == "rejected"
    assert post_only["error"]["code"] == "post_only_would_take"
    assert take["order"]["status"] == "filled"
    assert take["order"]["fills"][0]["price"] == "2.500"
    assert (unknown["error"]["code"], unknown["error"]["status"]) == ("unknown_instrument", 404)
    # the batch's orders are ordinary orders: listed, idempotent by client_order_id
    listed = {o["client_order_id"] for o in market.ok("GET", "/v1/orders", "trader")["items"]}
    assert {"b-rest", "b-take"} <= listed
    again = market.ok("POST", "/v1/orders/batch", "trader", json={"orders": batch[:1]})["results"]
    assert again[0]["order"]["id"] == rest["order"]["id"]


def test_a_batch_has_a_documented_size(market: Market) -> None:
    too_many = {"orders": [_order(market, "buy", "2.000")] * 21}
    assert_problem(market.call("POST", "/v1/orders/batch", "trader", json=too_many), 400, "validation_error")
    assert_problem(
        market.call("POST", "/v1/orders/batch", "trader", json={"orders": []}), 400, "validation_error"
    )
    assert market.call("POST", "/v1/orders/batch", None, json={"orders": []}).status_code == 401


def _wait_for(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (the timer task runs every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("the condition never held")


def test_the_dead_man_switch_cancels_only_your_orders_unless_renewed(any_market: Market) -> None:
    market = any_market
    mine = [
        market.ok("POST", "/v1/orders", "trader", 201, json=_order(market, "buy", p)) for p in ("2.1", "2.2")
    ]
    theirs = market.ok("POST", "/v1/orders", "trader2", 201, json=_order(market, "buy", "2.3"))
    armed = market.ok("POST", "/v1/orders/cancel-all-after", "trader", json={"timeout": 30})
    assert (armed["armed"], armed["timeout"], armed["cancelled"], armed["fired_at"]) == (True, 30, [], None)
    assert datetime.fromisoformat(armed["deadline"]) - datetime.fromisoformat(armed["now"]) <= timedelta(
        seconds=30
    )
    market.clock.now += timedelta(seconds=20)
    renewed = market.ok("POST", "/v1/orders/cancel-all-after", "trader", json={"timeout": 30})
    assert renewed["deadline"] > armed["deadline"]
    market.clock.now += timedelta(seconds=20)  # past the first deadline, not the renewed one
    time.sleep(0.5)
    assert market.ok("GET", f"/v1/orders/{mine[0]['id']}", "trader")["status"] == "open"
    market.clock.now += timedelta(seconds=15)
    fired = _wait_for(lambda: market.ok("GET", "/v1/orders/cancel-all-after", "trader")["fired_at"])
    timer = market.ok("GET", "/v1/orders/cancel-all-after", "trader")
    assert timer["armed"] is False
    assert fired is not None
    assert sorted(timer["cancelled"]) == sorted(o["id"] for o in mine)
    assert {market.ok("GET", f"/v1/orders/{o['id']}", "trader")["status"] for o in mine} == {"cancelled"}
    assert market.ok("GET", f"/v1/orders/{theirs['id']}", "trader2")["status"] == "open"


def test_a_disarmed_switch_cancels_nothing_and_timeouts_are_bounded(market: Market) -> None:
    order = market.ok("POST", "/v1/orders", "trader", 201, json=_order(market, "buy", "2.1"))
    market.ok("POST", "/v1/orders/cancel-all-after", "trader", json={"timeout": 5})
    off = market.ok("POST", "/v1/orders/cancel-all-after", "trader", json={"timeout": 0})
    assert (off["armed"], off["deadline"]) == (False, None)
    market.clock.now += timedelta(seconds=10)
    time.sleep(0.5)
    assert market.ok("GET", f"/v1/orders/{order['id']}", "trader")["status"] == "open"
    for bad in (-1, 86_401, 1.5, "10", True):
        response = market.call("POST", "/v1/orders/cancel-all-after", "trader", json={"timeout": bad})
        assert_problem(response, 400, "validation_error")


def test_a_switch_armed_before_a_restart_fires_after_it(sqlite_url: str) -> None:
    clock = Clock()
    engine = db.make_engine(sqlite_url)
    exchange = Exchange(engine, clock=clock)
    exchange.start()
    try:
        created = exchange.create_account("bot", ["trader"])
        trader, key = created.account.id, {"Authorization": f"Bearer {created.api_key}"}
        exchange.deposit(trader, 10_000_000_000, "seed")
        exchange.create_product("H100")
        symbol = exchange.create_forward("H100", "month", next_month_start(clock())).symbol
        order = exchange.place_order(trader, OrderRequest(symbol, "buy", 1, price_ticks=1000))
        exchange.arm_cancel_timer(trader, 60)
    finally:
        exchange.close()
        engine.dispose()
    clock.now += timedelta(minutes=5)  # the server was down past the deadline
    with make_client(sqlite_url, clock=clock) as client:
        timer = _wait_for(lambda: client.get("/v1/orders/cancel-all-after", headers=key).json()["cancelled"])
        assert timer == [order.id]
        assert client.get(f"/v1/orders/{order.id}", headers=key).json()["status"] == "cancelled"


def test_cancel_on_disconnect_cancels_the_sessions_account_orders(market: Market) -> None:
    with market.client.websocket_connect("/v1/stream") as watcher:
        watcher.send_json({"op": "auth", "key": market.keys["trader"]})
        watcher.send_json({"op": "subscribe", "channels": ["orders"]})
        inbox = Inbox(watcher)
        inbox.take(lambda m: m.get("type") == "subscribed")
        with market.client.websocket_connect("/v1/stream") as session:
            session.send_json({"op": "cancel_on_disconnect"})
            assert session.receive_json(timeout=5)["code"] == "unauthorized"
            session.send_json({"op": "auth", "key": market.keys["trader"]})
            assert session.receive_json(timeout=5)["type"] == "authenticated"
            session.send_json({"op": "cancel_on_disconnect", "enabled": True})
            assert session.receive_json(timeout=5) == {"type": "cancel_on_disconnect", "enabled": True}
            mine = market.ok("POST", "/v1/orders", "trader", 201, json=_order(market, "buy", "2.1"))
            theirs = market.ok("POST", "/v1/orders", "trader2", 201, json=_order(market, "buy", "2.2"))
        sweep = inbox.take(lambda m: m.get("type") == "cancelled_all")
        assert (sweep["cause"], sweep["order_ids"]) == ("disconnect", [mine["id"]])
    assert market.ok("GET", f"/v1/orders/{mine['id']}", "trader")["status"] == "cancelled"
    assert market.ok("GET", f"/v1/orders/{theirs['id']}", "trader2")["status"] == "open"


def test_cancel_on_disconnect_needs_the_trade_scope_and_can_be_turned_off(market: Market) -> None:
    reader = market.ok("POST", "/v1/me/keys", "trader", 201, json={"scopes": ["read"]})["api_key"]
    with market.client.websocket_connect("/v1/stream") as session:
        session.send_json({"op": "auth", "key": reader})
        assert session.receive_json(timeout=5)["type"] == "authenticated"
        session.send_json({"op": "cancel_on_disconnect"})
        assert session.receive_json(timeout=5)["code"] == "insufficient_scope"
        session.send_json({"op": "auth", "key": market.keys["trader"]})
        session.receive_json(timeout=5)
        session.send_json({"op": "cancel_on_disconnect"})
        session.receive_json(timeout=5)
        session.send_json({"op": "cancel_on_disconnect", "enabled": False})
        assert session.receive_json(timeout=5) == {"type": "cancel_on_disconnect", "enabled": False}
        order = market.ok("POST", "/v1/orders", "trader", 201, json=_order(market, "buy", "2.1"))
    assert market.ok("GET", f"/v1/orders/{order['id']}", "trader")["status"] == "open"
