"""Basket funds over HTTP, on SQLite and PostgreSQL: define a fund, authorise a participant, create
in kind with an idempotency key, read the NAV and its history, trade the unit, redeem in cash, and
the refusals as problem details naming the field."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Market
from tests.api.test_clearing_api import _cash_forward
from tests.api.test_stream import Inbox


def test_basket_fund_over_http(any_market: Market) -> None:
    m = any_market
    leg = _cash_forward(m)
    m.ok("POST", "/v1/admin/remargin", "admin")  # marks and margins
    body = {"symbol": "GPUB", "name": "GPU basket", "legs": [{"symbol": leg, "lots": 2}], "fee_ppm": 2000}
    assert m.call("POST", "/v1/baskets", "trader", json=body).status_code == 403
    bad = m.call("POST", "/v1/baskets", "admin", json={**body, "legs": [{"symbol": leg, "lots": 0}]})
    assert bad.status_code == 400, bad.text
    assert bad.json()["errors"][0]["field"].endswith("lots")
    assert m.call("POST", "/v1/baskets", "admin", json={**body, "extra": 1}).status_code == 400
    physical = m.call(
        "POST", "/v1/baskets", "admin", json={**body, "legs": [{"symbol": m.symbol, "lots": 1}]}
    )
    assert (physical.status_code, physical.json()["code"]) == (400, "invalid_request"), physical.text
    fund = m.ok("POST", "/v1/baskets", "admin", 201, json=body)
    assert (fund["symbol"], fund["units"], fund["participants"]) == ("GPUB", 0, [])
    assert m.call("POST", "/v1/baskets", "admin", json=body).status_code == 409
    unit = m.ok("GET", "/v1/instruments/GPUB", "trader")
    assert (unit["kind"], unit["tick"]) == ("unit", "0.01")
    m.ok("POST", "/v1/baskets/GPUB/participants", "admin", json={"account_id": m.ids["trader"]})
    assert m.call("GET", "/v1/baskets/nope", "trader").status_code == 400  # not a unit symbol
    assert m.call("GET", "/v1/baskets/NOPE", "trader").status_code == 404
    nav = m.ok("GET", "/v1/baskets/GPUB/nav", "trader")
    [mark] = nav["marks"]
    assert (nav["units"], nav["nav"]) == (0, nav["strip_value"])
    sell = {"symbol": leg, "side": "sell", "quantity": 2, "price": mark["mark"]}
    m.ok("POST", "/v1/orders", "trader2", 201, json=sell)
    m.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})
    create = {"action": "create", "method": "in_kind", "units": 1}
    refused = m.call("POST", "/v1/baskets/GPUB/flows", "trader2", json=create)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    zero = m.call("POST", "/v1/baskets/GPUB/flows", "trader", json={**create, "units": 0})
    assert (zero.status_code, zero.json()["errors"][0]["field"]) == (400, "units"), zero.text
    too_many = m.call("POST", "/v1/baskets/GPUB/flows", "trader", json={**create, "units": 2})
    assert (too_many.status_code, too_many.json()["code"]) == (409, "inventory_exceeded"), too_many.text
    key = {"Idempotency-Key": "create-1"}
    first = m.ok("POST", "/v1/baskets/GPUB/flows", "trader", 201, json=create, headers=key)
    assert (first["nav"], first["cash"]) == (nav["nav"], nav["nav"])  # no in-kind fee
    again = m.ok("POST", "/v1/baskets/GPUB/flows", "trader", 201, json=create, headers=key)
    assert again["id"] == first["id"]
    assert m.ok("GET", "/v1/baskets/GPUB", "trader")["units"] == 1
    assert [f["id"] for f in m.ok("GET", "/v1/baskets/GPUB/flows", "trader")] == [first["id"]]
    assert m.ok("GET", "/v1/baskets/GPUB/navs", "trader")[0]["nav"] == nav["nav"]
    published = m.ok("POST", "/v1/admin/baskets/nav", "admin")
    assert [(p["symbol"], p["units"]) for p in published] == [("GPUB", 1)]
    # the unit trades on its own book, paid in full
    price = f"{int(first['nav'].split('.')[0]) + 1}.00"
    m.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": "GPUB", "side": "sell", "quantity": 1, "price": price},
    )
    m.ok(
        "POST",
        "/v1/orders",
        "trader2",
        201,
        json={"symbol": "GPUB", "side": "buy", "quantity": 1, "price": price},
    )
    redeem = m.call("POST", "/v1/baskets/GPUB/flows", "trader", json={**create, "action": "redeem"})
    assert (redeem.status_code, redeem.json()["code"]) == (400, "invalid_quantity")  # the last unit stays
    # in cash: the fund buys the strip on the book (fill-or-kill within 2% of the mark)
    thin = m.call("POST", "/v1/baskets/GPUB/flows", "trader", json={**create, "method": "cash"})
    assert (thin.status_code, thin.json()["code"]) == (409, "insufficient_depth"), thin.text
    m.ok("POST", "/v1/orders", "trader2", 201, json=sell)
    cash = m.ok("POST", "/v1/baskets/GPUB/flows", "trader", 201, json={**create, "method": "cash"})
    assert (cash["costs"], m.ok("GET", "/v1/baskets/GPUB", "trader")["units"]) == ("0.000000", 2)
    assert cash["fee"] != "0.000000"
    assert m.ok("POST", "/v1/admin/baskets/wind-up", "admin") == []
    # the unit's mark channel carries its NAV, updated when its legs' index moves
    with m.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "subscribe", "channels": ["mark.GPUB"]})
        snap = inbox.take(lambda x: x.get("channel") == "mark.GPUB" and x.get("type") == "snapshot")
        assert snap["mark"]["mark"] == m.ok("GET", "/v1/baskets/GPUB/nav", "trader")["nav"]
        m.clock.now += timedelta(minutes=1)
        fixing = {"at": m.clock.now.replace(second=0, microsecond=0).isoformat(), "price": "1.60"}
        m.ok("POST", "/v1/index/A100/fixings", "admin", 201, json={"fixings": [fixing]})
        update = inbox.take(lambda x: x.get("channel") == "mark.GPUB" and x.get("type") == "update")
        assert update["prev_seq"] == snap["seq"]
