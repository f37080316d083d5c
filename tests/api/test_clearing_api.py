"""The clearing house over HTTP: re-margining, the risk report, margin calls in /v1/me and their own
resource, reduce-only orders, defaults for the operator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.api.conftest import Market, next_month_start


def _cash_forward(m: Market) -> str:
    m.ok("POST", "/v1/products", "admin", 201, json={"id": "A100"})
    start = next_month_start(m.clock())
    now = m.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [{"at": (now - timedelta(days=d)).isoformat(), "price": "1.50"} for d in range(1, 31)]
    m.ok("POST", "/v1/index/A100/fixings", "admin", 201, json={"fixings": fixings})
    body = {
        "type": "forward",
        "product": "A100",
        "window": "month",
        "start": start.isoformat(),
        "settlement": "cash",
    }
    return m.ok("POST", "/v1/instruments", "admin", 201, json=body)["symbol"]


def test_remargin_risk_and_calls_over_http(market: Market) -> None:
    m = market
    symbol = _cash_forward(m)
    first = m.ok("POST", "/v1/admin/remargin", "admin")
    assert first["marked"] >= 1
    sell = {"symbol": symbol, "side": "sell", "quantity": 2, "price": "1.50"}
    m.ok("POST", "/v1/orders", "trader2", 201, json=sell)
    m.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})
    report = m.ok("POST", "/v1/admin/remargin", "admin")
    assert report["accounts"] == 2
    risk = m.ok("GET", "/v1/risk", "trader")
    [product] = risk["products"]
    assert product["product"] == "A100"
    assert product["delta"] > 0
    assert set(product["stress"]) == {"new_generation", "scarcity_spike", "index_outage"}
    assert product["stress"]["new_generation"] < 0
    [margin] = risk["margin"]
    assert float(margin["required"]) > 0
    assert float(margin["per_instrument"]) > 0
    assert m.ok("GET", "/v1/margin-calls", "trader") == []
    assert m.ok("GET", "/v1/me", "trader")["margin_calls"] == []
    defaults = m.ok("GET", "/v1/admin/defaults", "admin")
    assert defaults["defaults"] == []
    assert set(defaults["fund"]["contributions"]) == {m.ids["trader"], m.ids["trader2"]}
    assert m.call("GET", "/v1/admin/defaults", "trader").status_code == 403
    assert m.ok("GET", "/v1/admin/clearing-instructions", "admin") == []  # a single writer trades itself
    assert m.call("GET", "/v1/admin/clearing-instructions", "trader").status_code == 403
    too_many = m.call("GET", "/v1/admin/clearing-instructions?limit=0", "admin")
    assert (too_many.status_code, too_many.json()["code"]) == (400, "invalid_request")


def test_reduce_only_orders_must_reduce(market: Market) -> None:
    m = market
    symbol = _cash_forward(m)
    m.ok("POST", "/v1/admin/remargin", "admin")
    order = {"symbol": symbol, "side": "buy", "quantity": 1, "price": "1.50", "time_in_force": "ioc"}
    refused = m.call("POST", "/v1/orders", "trader", json={**order, "reduce_only": True})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "reduce_only"
    wrong_type = m.call("POST", "/v1/orders", "trader", json={**order, "reduce_only": "yes"})
    assert wrong_type.status_code == 400
    gtc = m.call("POST", "/v1/orders", "trader", json={**order, "time_in_force": "gtc", "reduce_only": True})
    assert gtc.status_code == 400


def test_a_futures_style_option_shows_its_variation_margin_over_http(any_market: Market) -> None:
    """No premium at the trade; a pass settles the call to its mark (below the price paid), then a 10%
    index jump re-margins within the fixings request and pays the call's rise to its holder: the
    positions and the statement show both, the invariants hold."""
    m = any_market
    forward = _cash_forward(m)
    body = {"type": "option", "underlying": forward, "option_kind": "call", "strike": "1.50"}
    call = m.ok("POST", "/v1/instruments", "admin", 201, json=body)["symbol"]
    m.ok("POST", "/v1/admin/remargin", "admin")
    sell = {"symbol": call, "side": "sell", "quantity": 1, "price": "0.100"}
    before = m.ok("GET", "/v1/me", "trader")["balances"]["cash"]
    m.ok("POST", "/v1/orders", "trader2", 201, json=sell)
    m.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})
    assert m.ok("GET", "/v1/me", "trader")["balances"]["cash"] == before  # no premium changed hands
    m.ok("POST", "/v1/admin/remargin", "admin")  # the pass a large move is measured from
    m.clock.now += timedelta(hours=1)
    now = m.clock().replace(second=0, microsecond=0)
    jump = [{"at": (now - timedelta(minutes=k)).isoformat(), "price": "1.65"} for k in (2, 1, 0)]
    m.ok("POST", "/v1/index/A100/fixings", "admin", 201, json={"fixings": jump})  # a large move: a pass
    held = {p["symbol"]: p for p in m.ok("GET", "/v1/positions", "trader")["items"]}[call]
    written = {p["symbol"]: p for p in m.ok("GET", "/v1/positions", "trader2")["items"]}[call]
    assert Decimal(written["variation"]) == -Decimal(held["variation"])
    lines = [line for line in m.ok("GET", "/v1/statement", "trader")["lines"] if line["ref"] == call]
    assert [line["kind"] for line in lines] == ["variation", "variation"]  # one per pass
    assert Decimal(lines[0]["amount"]) < 0 < Decimal(lines[1]["amount"])  # traded above the mark, then +10%
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal(held["variation"])
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}
