"""WebSocket /v1/stream end to end in process: subscribe, trade, receive deltas with chained seq."""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import WebSocketTestSession

from api import stream
from api.auth import CACHE_SECONDS
from tests.api.conftest import Market


class Inbox:
    """Messages of one connection; :meth:`take` returns the first match, keeping the others in order."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []

    def take(self, predicate: Any, limit: int = 20) -> dict[str, Any]:
        for index, message in enumerate(self.pending):
            if predicate(message):
                return self.pending.pop(index)
        for _ in range(limit):
            message = self.ws.receive_json(timeout=5)
            if predicate(message):
                return message
            self.pending.append(message)
        raise AssertionError(f"expected message never came; got {self.pending}")


def test_book_trades_and_private_orders_stream(market: Market) -> None:
    symbol = market.symbol
    with market.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json(
            {
                "op": "subscribe",
                "channels": [f"book.{symbol}", f"trades.{symbol}", f"ticker.{symbol}", "orders"],
            }
        )
        snapshot = inbox.take(lambda m: m.get("type") == "snapshot")
        assert (snapshot["bids"], snapshot["asks"]) == ([], [])
        refused = inbox.take(lambda m: m.get("type") == "error")
        assert (refused["code"], refused["channel"]) == ("invalid_channel", "orders")  # not authenticated

        ws.send_json({"op": "auth", "key": market.keys["trader"]})
        assert inbox.take(lambda m: m.get("type") == "authenticated")["account_id"] == market.ids["trader"]
        ws.send_json({"op": "subscribe", "channels": ["orders"]})
        inbox.take(lambda m: m.get("type") == "subscribed")

        market.ok(
            "POST",
            "/v1/orders",
            "provider",
            201,
            json={"symbol": symbol, "side": "sell", "quantity": 4, "price": "2.500"},
        )
        ask = inbox.take(lambda m: m.get("channel") == f"book.{symbol}")
        assert ask["type"] == "delta"
        assert ask["prev_seq"] == snapshot["seq"]
        assert ask["asks"] == [["2.500", 4]]

        order = market.ok(
            "POST",
            "/v1/orders",
            "trader",
            201,
            json={"symbol": symbol, "side": "buy", "quantity": 3, "price": "2.500"},
        )
        mine = inbox.take(lambda m: m.get("channel") == "orders")
        assert (mine["order"]["id"], mine["order"]["status"], mine["seq"], mine["prev_seq"]) == (
            order["id"],
            "filled",
            1,
            0,
        )
        delta = inbox.take(lambda m: m.get("channel") == f"book.{symbol}")
        assert delta["prev_seq"] == ask["seq"]
        assert delta["seq"] > ask["seq"]
        assert delta["asks"] == [["2.500", 1]]
        trade = inbox.take(lambda m: m.get("channel") == f"trades.{symbol}")
        assert (trade["trade"]["quantity"], trade["trade"]["price"], trade["seq"], trade["prev_seq"]) == (
            3,
            "2.500",
            1,
            0,
        )

        tickers = [inbox.take(lambda m: m.get("channel") == f"ticker.{symbol}") for _ in range(2)]
        assert [(t["seq"], t["prev_seq"]) for t in tickers] == [(1, 0), (2, 1)]
        assert (tickers[1]["ticker"]["last"], tickers[1]["ticker"]["volume_24h"]) == ("2.500", 3)

        # the provider's own order update goes to the provider only, never to this connection
        market.ok("DELETE", "/v1/orders", "provider", json=None)
        gone = inbox.take(lambda m: m.get("channel") == f"book.{symbol}")
        assert gone["asks"] == [["2.500", 0]]
        assert gone["prev_seq"] == delta["seq"]


def test_protocol_errors_ping_and_subscription_cap(market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    with market.client.websocket_connect("/v1/stream") as ws:
        ws.send_text("not json")
        assert ws.receive_json(timeout=5)["code"] == "invalid_message"
        ws.send_json({"op": "subscribe", "channels": ["candles.X"]})
        assert ws.receive_json(timeout=5)["code"] == "invalid_channel"
        ws.send_json({"op": "subscribe", "channels": ["book.H100-2099-01"]})
        assert ws.receive_json(timeout=5)["code"] == "unknown_instrument"
        ws.send_json({"op": "auth", "key": "flx_wrong"})
        assert ws.receive_json(timeout=5)["code"] == "unauthorized"
        ws.send_json({"op": "ping"})
        assert ws.receive_json(timeout=5) == {"type": "pong"}
        monkeypatch.setattr(stream, "MAX_SUBSCRIPTIONS", 2)
        channels = [f"{kind}.{market.symbol}" for kind in ("book", "trades", "ticker")]
        ws.send_json({"op": "subscribe", "channels": channels})
        messages = [ws.receive_json(timeout=5) for _ in range(4)]  # two subscribed, a snapshot, an error
        assert [m["channels"] for m in messages if m["type"] == "subscribed"] == [channels[:1], channels[1:2]]
        assert messages[-1]["code"] == "invalid_channel"
        assert messages[-1]["channel"] == channels[2]


def test_resting_orders_filled_by_others_reach_their_owner(market: Market) -> None:
    symbol = market.symbol
    ask = market.ok(
        "POST",
        "/v1/orders",
        "provider",
        201,
        json={"symbol": symbol, "side": "sell", "quantity": 4, "price": "2.500"},
    )
    with market.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": market.keys["provider"]})
        ws.send_json({"op": "subscribe", "channels": ["orders"]})
        inbox.take(lambda m: m.get("type") == "subscribed")
        market.ok(
            "POST",
            "/v1/orders",
            "trader",
            201,
            json={"symbol": symbol, "side": "buy", "quantity": 3, "price": "2.500"},
        )
        update = inbox.take(lambda m: m.get("channel") == "orders")
        assert (update["order"]["id"], update["order"]["status"], update["order"]["open_quantity"]) == (
            ask["id"],
            "partially_filled",
            1,
        )
        assert [f["liquidity"] for f in update["order"]["fills"]] == ["maker"]


def test_idle_connections_get_heartbeats(market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.05)
    with market.client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json(timeout=5) == {"type": "heartbeat"}


def test_revoking_a_key_closes_its_sockets_within_seconds(market: Market) -> None:
    """Audit: a socket authenticated with a key kept receiving private fills after the key was revoked."""
    exchange = market.client.app.state.ctx.exchange
    with market.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": market.keys["trader"]})
        inbox.take(lambda m: m.get("type") == "authenticated")
        ws.send_json({"op": "subscribe", "channels": ["orders"]})
        inbox.take(lambda m: m.get("type") == "subscribed")
        exchange.revoke_api_key(market.keys["trader"])
        revoked = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            inbox.take(lambda m: False, limit=100)
        assert closed.value.code == stream.REVOKED_CLOSE_CODE
        assert time.monotonic() - revoked < stream.KEY_CHECK_SECONDS + CACHE_SECONDS + 2.0
