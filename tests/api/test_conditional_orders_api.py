"""Trailing stops and one-cancels-other pairs over HTTP, on SQLite and PostgreSQL (issue 21)."""

from __future__ import annotations

from tests.api.conftest import Market
from tests.api.test_routes import assert_problem
from tests.api.test_stream import Inbox


def _trade(market: Market, price: str) -> None:
    """One lot from the provider to trader2 at ``price``."""
    market.ok("POST", "/v1/orders", "provider", 201, json=_limit(market, "sell", price))
    taken = market.ok("POST", "/v1/orders", "trader2", 201, json=_limit(market, "buy", price))
    assert taken["status"] == "filled"


def _limit(market: Market, side: str, price: str, **extra: object) -> dict:
    return {"symbol": market.symbol, "side": side, "quantity": 1, "price": price, **extra}


def _pair(market: Market) -> dict:
    """trader's pair: take-profit buy at 2.300, buy stop-limit at 2.600 triggered at 2.550."""
    legs = [
        _limit(market, "buy", "2.300"),
        _limit(market, "buy", "2.600", type="stop_limit", stop_price="2.550"),
    ]
    return market.ok("POST", "/v1/orders/oco", "trader", 201, json={"orders": legs})


def test_a_trailing_stop_shows_its_moving_trigger(any_market: Market) -> None:
    market = any_market
    _trade(market, "2.500")
    body = _limit(market, "buy", "2.700", type="trailing_stop_limit", trail="0.100")
    placed = market.ok("POST", "/v1/orders", "trader", 201, json=body)
    assert (placed["type"], placed["trail"], placed["stop_price"], placed["triggered"]) == (
        "trailing_stop_limit",
        "0.100",
        "2.600",
        False,
    )
    assert placed["activation_price"] is None
    _trade(market, "2.400")
    assert market.ok("GET", f"/v1/orders/{placed['id']}", "trader")["stop_price"] == "2.500"
    _trade(market, "2.500")
    now = market.ok("GET", f"/v1/orders/{placed['id']}", "trader")
    assert (now["triggered"], now["status"]) == (True, "open")  # rests as a limit buy at 2.700
    book = market.ok("GET", f"/v1/instruments/{market.symbol}/book")
    assert book["bids"][0][0] == "2.700"


def test_an_activation_price_waits_for_its_trade(any_market: Market) -> None:
    market = any_market
    _trade(market, "2.500")
    body = _limit(market, "buy", "2.700", type="trailing_stop_limit", trail="0.050", activation_price="2.400")
    placed = market.ok("POST", "/v1/orders", "trader", 201, json=body)
    assert (placed["stop_price"], placed["activation_price"]) == (None, "2.400")
    _trade(market, "2.400")
    assert market.ok("GET", f"/v1/orders/{placed['id']}", "trader")["stop_price"] == "2.450"


TRAILING_MISTAKES = [
    ({"type": "trailing_stop_limit"}, "invalid_request"),  # no trail
    ({"type": "trailing_stop_limit", "trail": "0.0001"}, "off_tick"),
    ({"type": "trailing_stop_limit", "trail": 1}, "validation_error"),  # a number, not a string
    ({"type": "trailing_stop_limit", "trail": "-0.1"}, "validation_error"),
    ({"type": "limit", "trail": "0.100"}, "invalid_request"),
    ({"type": "limit", "activation_price": "2.000"}, "invalid_request"),
    ({"type": "trailing_stop_market", "trail": "0.100", "price": None}, "invalid_request"),  # a premium buy
]


def test_trailing_stop_fields_are_validated(market: Market) -> None:
    for extra, code in TRAILING_MISTAKES:
        body = {**_limit(market, "buy", "2.500"), **extra}
        assert_problem(market.call("POST", "/v1/orders", "trader", json=body), 400, code)


def test_a_take_profit_fill_cancels_the_stop_in_the_same_commit(any_market: Market) -> None:
    market = any_market
    pair = _pair(market)
    take, stop = pair["orders"]
    assert pair["link_id"]
    assert take["link_id"] == stop["link_id"] == pair["link_id"]
    assert (take["status"], stop["status"]) == ("open", "open")
    market.ok("POST", "/v1/orders", "provider", 201, json=_limit(market, "sell", "2.300"))
    take, stop = (market.ok("GET", f"/v1/orders/{o['id']}", "trader") for o in pair["orders"])
    assert (take["status"], stop["status"], stop["reason"]) == ("filled", "cancelled", "oco")
    assert stop["reserved"] == "0.000000"


def test_cancelling_one_leg_cancels_both(any_market: Market) -> None:
    market = any_market
    take, stop = _pair(market)["orders"]
    cancelled = market.ok("DELETE", f"/v1/orders/{stop['id']}", "trader")
    assert cancelled["reason"] == "user"
    other = market.ok("GET", f"/v1/orders/{take['id']}", "trader")
    assert (other["status"], other["reason"]) == ("cancelled", "oco")
    _pair(market)
    assert len(market.ok("DELETE", "/v1/orders", "trader")["cancelled"]) == 2


PAIR_MISTAKES = [
    ([{"price": "2.300"}, {"price": "2.200"}], 400, "invalid_oco"),  # not a pair: two limits
    (  # a buy take-profit above its stop
        [{"price": "2.700"}, {"price": "2.600", "type": "stop_limit", "stop_price": "2.550"}],
        400,
        "invalid_oco",
    ),
    (  # a leg off the tick
        [{"price": "2.3001"}, {"price": "2.600", "type": "stop_limit", "stop_price": "2.550"}],
        400,
        "off_tick",
    ),
    ([{"price": "2.300", "symbol": "H100-2099-01"}, {"price": "2.600"}], 404, "unknown_instrument"),
]


def test_a_bad_pair_is_refused(market: Market) -> None:
    for legs, status, code in PAIR_MISTAKES:
        orders = [{**_limit(market, "buy", "2.000"), **leg} for leg in legs]
        assert_problem(market.call("POST", "/v1/orders/oco", "trader", json={"orders": orders}), status, code)
    assert market.ok("GET", "/v1/orders?status=live", "trader")["items"] == []


def test_a_pair_has_exactly_two_legs(market: Market) -> None:
    one = {"orders": [_limit(market, "buy", "2.300")]}
    assert_problem(market.call("POST", "/v1/orders/oco", "trader", json=one), 400, "validation_error")
    assert market.call("POST", "/v1/orders/oco", None, json=one).status_code == 401


def test_the_stream_tells_the_owner_when_another_fill_cancels_a_leg(market: Market) -> None:
    """The provider's fill of trader's take-profit also cancels the stop leg: trader's private
    ``orders`` channel gets both legs, the stop with ``reason: oco``."""
    pair = _pair(market)
    take, stop = (leg["id"] for leg in pair["orders"])
    with market.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": market.keys["trader"]})
        ws.send_json({"op": "subscribe", "channels": ["orders"]})
        inbox.take(lambda m: m.get("type") == "subscribed")
        market.ok("POST", "/v1/orders", "provider", 201, json=_limit(market, "sell", "2.300"))
        filled = inbox.take(lambda m: m.get("channel") == "orders" and m["order"]["id"] == take)
        cancelled = inbox.take(lambda m: m.get("channel") == "orders" and m["order"]["id"] == stop)
    assert filled["order"]["status"] == "filled"
    assert (cancelled["order"]["status"], cancelled["order"]["reason"]) == ("cancelled", "oco")
    assert cancelled["order"]["link_id"] == pair["link_id"]
