"""Every route: success, missing or bad key, wrong role, invalid input, and other accounts' objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.api.conftest import Market, next_month_start

ORDER = {"side": "buy", "quantity": 1, "price": "2.000"}
PRICE_REQUEST = {
    "model": {"type": "gbm", "spot": 2.0, "vol": 0.5, "carry": 0.0},
    "instrument": {"type": "european", "kind": "call", "strike": 2.0, "expiry": 0.5},
}

# (method, path, body, roles allowed); "{symbol}" and "{trader}" are filled from the market fixture.
PRIVATE_ROUTES: list[tuple[str, str, dict[str, Any] | None, set[str] | None]] = [
    ("POST", "/v1/accounts", {"name": "x", "roles": ["trader"]}, {"admin"}),
    ("POST", "/v1/accounts/{trader}/deposits", {"amount": "1"}, {"admin"}),
    ("POST", "/v1/products", {"id": "B200"}, {"admin"}),
    ("POST", "/v1/instruments/series", {"product": "H100", "months": 1, "weeks": 0, "days": 0}, {"admin"}),
    (
        "POST",
        "/v1/instruments",
        {"type": "forward", "product": "H100", "window": "day", "start": "2099-01-01T00:00:00Z"},
        {"admin"},
    ),
    ("GET", "/v1/admin/check", None, {"admin"}),
    (
        "POST",
        "/v1/listings",
        {"product": "H100", "gpus": 1, "start": "2099-01-01T00:00:00Z", "end": "2099-01-02T00:00:00Z"},
        {"provider"},
    ),
    ("GET", "/v1/listings", None, {"provider"}),
    ("GET", "/v1/listings/1", None, {"provider"}),
    ("PATCH", "/v1/listings/1", {"gpus": 9}, {"provider"}),
    ("DELETE", "/v1/listings/1", None, {"provider"}),
    ("GET", "/v1/me", None, None),
    ("POST", "/v1/orders", {"symbol": "{symbol}", **ORDER}, None),
    ("GET", "/v1/orders", None, None),
    ("DELETE", "/v1/orders", None, None),
    ("GET", "/v1/orders/abc", None, None),
    ("GET", "/v1/orders/by-client-id/abc", None, None),
    ("PATCH", "/v1/orders/abc", {"quantity": 1}, None),
    ("DELETE", "/v1/orders/abc", None, None),
    ("GET", "/v1/fills", None, None),
    ("GET", "/v1/positions", None, None),
    ("GET", "/v1/ledger", None, None),
    ("GET", "/v1/deliveries", None, None),
    ("POST", "/v1/price", PRICE_REQUEST, None),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _, _ in PRIVATE_ROUTES]


def _fill(market: Market, path: str, body: dict[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    path = path.replace("{trader}", market.ids["trader"])
    if body is not None:
        body = {k: (market.symbol if v == "{symbol}" else v) for k, v in body.items()}
    return path, body


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize(("method", "path", "body", "roles"), PRIVATE_ROUTES, ids=ROUTE_IDS)
def test_private_routes_need_a_valid_key(
    market: Market, method: str, path: str, body: Any, roles: Any
) -> None:
    path, body = _fill(market, path, body)
    for headers in ({}, {"Authorization": "Bearer flx_not-a-key"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        response = market.client.request(method, path, json=body, headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "body", "roles"),
    [r for r in PRIVATE_ROUTES if r[3]],
    ids=[i for i, r in zip(ROUTE_IDS, PRIVATE_ROUTES, strict=True) if r[3]],
)
def test_role_guarded_routes_refuse_other_roles(
    market: Market, method: str, path: str, body: Any, roles: set[str]
) -> None:
    path, body = _fill(market, path, body)
    for who in ("admin", "provider", "trader"):
        if who in roles:
            continue
        assert_problem(market.call(method, path, who, json=body), 403, "forbidden")


def test_public_routes_need_no_key(market: Market) -> None:
    assert market.ok("GET", "/health")["status"] == "ok"
    assert [p["id"] for p in market.ok("GET", "/v1/products")["items"]] == ["H100"]
    assert market.ok("GET", "/v1/instruments")["items"][0]["symbol"] == market.symbol
    assert market.ok("GET", f"/v1/instruments/{market.symbol}")["kind"] == "forward"
    assert market.ok("GET", f"/v1/instruments/{market.symbol}/book") == {
        "symbol": market.symbol,
        "sequence": market.ok("GET", f"/v1/instruments/{market.symbol}/book")["sequence"],
        "bids": [],
        "asks": [],
    }
    assert market.ok("GET", f"/v1/instruments/{market.symbol}/trades") == {"items": [], "next_cursor": None}


def test_schema_is_served(market: Market) -> None:
    schema = market.ok("GET", "/schema/openapi.json")
    assert "/v1/orders" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert market.client.get("/schema").status_code == 200
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):  # served from the package, through the edge
        assert market.client.get(f"/schema/assets/{asset}").status_code == 200, asset
    assert market.client.get("/schema/assets/missing.js").status_code == 404


# -- accounts, products, instruments ------------------------------------------------------------


def test_admin_creates_accounts_and_deposits_idempotently(market: Market) -> None:
    created = market.ok("POST", "/v1/accounts", "admin", 201, json={"name": "quant", "roles": ["trader"]})
    assert created["api_key"].startswith("flx_")
    me = market.ok("GET", "/v1/me", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert me["account"]["roles"] == ["trader"]
    assert me["balances"] == {
        "cash": "0.000000",
        "reserved": "0.000000",
        "margin": "0.000000",
        "available": "0.000000",
        "collateral": "0.000000",
    }
    path = f"/v1/accounts/{created['account']['id']}/deposits"
    first = market.ok(
        "POST", path, "admin", 201, json={"amount": "12.5"}, headers={"Idempotency-Key": "dep-1"}
    )
    again = market.ok(
        "POST", path, "admin", 201, json={"amount": "12.5"}, headers={"Idempotency-Key": "dep-1"}
    )
    assert first == again
    assert first["amount"] == "12.500000"
    clash = market.call("POST", path, "admin", json={"amount": "13"}, headers={"Idempotency-Key": "dep-1"})
    assert_problem(clash, 409, "idempotency_key_reused")
    me = market.ok("GET", "/v1/me", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert me["balances"]["available"] == "12.500000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "roles": ["trader"]}, "name"),
        ({"name": "x", "roles": []}, "roles"),
        ({"name": "x", "roles": ["root"]}, "roles"),
        ({"name": "x", "roles": ["trader"], "admin": True}, "admin"),
        ({"roles": ["trader"]}, "name"),
    ],
)
def test_account_validation(market: Market, body: dict[str, Any], field: str) -> None:
    problem = assert_problem(market.call("POST", "/v1/accounts", "admin", json=body), 400, "validation_error")
    assert problem["errors"][0]["field"].startswith(field)


def test_duplicate_account_name_is_409(market: Market) -> None:
    assert_problem(
        market.call("POST", "/v1/accounts", "admin", json={"name": "trader", "roles": ["trader"]}),
        409,
        "already_exists",
    )


@pytest.mark.parametrize("amount", ["0", "-1", "1.0000001", "NaN", "Infinity", "1e9", 5, "99999999999999"])
def test_deposit_validation(market: Market, amount: Any) -> None:
    response = market.call(
        "POST", f"/v1/accounts/{market.ids['trader']}/deposits", "admin", json={"amount": amount}
    )
    assert response.status_code == 400, response.text


def test_deposit_to_unknown_account_is_404(market: Market) -> None:
    assert_problem(
        market.call("POST", "/v1/accounts/acc_nobody/deposits", "admin", json={"amount": "1"}),
        404,
        "not_found",
    )


def test_products_and_series(market: Market) -> None:
    market.ok("POST", "/v1/products", "admin", 201, json={"id": "B200", "region": "us-east"})
    assert_problem(market.call("POST", "/v1/products", "admin", json={"id": "B200"}), 409, "already_exists")
    assert_problem(
        market.call("POST", "/v1/products", "admin", json={"id": "b-200"}), 400, "validation_error"
    )
    series = market.ok(
        "POST",
        "/v1/instruments/series",
        "admin",
        201,
        json={"product": "B200", "months": 2, "weeks": 1, "days": 1},
    )
    assert len(series) == 4
    listed = market.ok("GET", "/v1/instruments?product=B200&type=forward&status=open")["items"]
    assert {i["symbol"] for i in listed} == {i["symbol"] for i in series}
    assert_problem(
        market.call("POST", "/v1/instruments/series", "admin", json={"product": "Z999"}), 404, "not_found"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "forward", "product": "H100", "window": "year", "start": "2099-01-01T00:00:00Z"},
        {"type": "forward", "product": "H100", "window": "day", "start": "2099-01-01T00:00:00"},
        {"type": "forward", "product": "H100", "window": "day", "start": "2099-01-01T00:00:00Z", "tick": "0"},
        {"type": "swap", "product": "H100"},
        {"type": "option", "underlying": "H100-2099-01", "option_kind": "call", "strike": "-1"},
        {"product": "H100", "window": "day", "start": "2099-01-01T00:00:00Z"},
    ],
)
def test_instrument_validation(market: Market, body: dict[str, Any]) -> None:
    assert market.call("POST", "/v1/instruments", "admin", json=body).status_code == 400


def test_instrument_in_the_past_and_unknown_symbols(market: Market) -> None:
    past = {"type": "forward", "product": "H100", "window": "day", "start": "2020-01-01T00:00:00Z"}
    assert_problem(market.call("POST", "/v1/instruments", "admin", json=past), 400, "invalid_request")
    assert_problem(market.call("GET", "/v1/instruments/H100-2099-01"), 404, "unknown_instrument")
    assert_problem(market.call("GET", "/v1/instruments/H100-2099-01/book"), 404, "unknown_instrument")
    # a path that breaks the documented symbol pattern is refused as such (400), not looked up
    assert_problem(market.call("GET", "/v1/instruments/not%20a%20symbol"), 400, "validation_error")


# -- listings ----------------------------------------------------------------------------------


def test_listing_lifecycle(market: Market) -> None:
    lid = market.ids["listing"]
    listing = market.ok("GET", f"/v1/listings/{lid}", "provider")
    assert listing["covers"] == [market.symbol]
    assert [item["id"] for item in market.ok("GET", "/v1/listings", "provider")["items"]] == [int(lid)]
    market.ok(
        "POST",
        "/v1/orders",
        "provider",
        201,
        json={"symbol": market.symbol, "side": "sell", "quantity": 4, "price": "2.500"},
    )
    assert market.ok("PATCH", f"/v1/listings/{lid}", "provider", json={"gpus": 6})["gpus"] == 6
    assert_problem(
        market.call("PATCH", f"/v1/listings/{lid}", "provider", json={"gpus": 3}), 409, "inventory_exceeded"
    )
    assert market.ok("DELETE", f"/v1/listings/{lid}", "provider")["gpus"] == 4  # the offered 4 remain


def test_listings_of_another_provider_are_404(market: Market) -> None:
    lid = market.ids["listing"]
    for method, body in (("GET", None), ("PATCH", {"gpus": 1}), ("DELETE", None)):
        assert_problem(market.call(method, f"/v1/listings/{lid}", "provider2", json=body), 404, "not_found")
    assert market.ok("GET", "/v1/listings", "provider2")["items"] == []


def test_auto_offer_settings_change_after_listing(market: Market) -> None:
    lid = market.ids["listing"]
    path = f"/v1/listings/{lid}/auto-offer"

    def asks() -> list[tuple[str, int]]:
        live = market.ok("GET", "/v1/orders", "provider", params={"status": "live"})["items"]
        return [(o["price"], o["open_quantity"]) for o in live if o["client_order_id"].startswith("auto-")]

    assert asks() == []
    changed = market.ok("PUT", path, "provider", json={"auto_offer": "reserve", "reserve_price": "2.7"})
    assert (changed["auto_offer"], changed["reserve_price"]) == ("reserve", "2.700000")
    assert asks() == [("2.700", 10)]  # placed at once for the listed GPUs
    market.ok("PUT", path, "provider", json={"auto_offer": "reserve", "reserve_price": "2.9"})
    assert asks() == [("2.900", 10)]  # re-priced
    assert market.ok("PUT", path, "provider", json={"auto_offer": "none"})["auto_offer"] == "none"
    assert asks() == []  # cancelled: the GPUs are free again
    inventory = market.ok("GET", f"/v1/listings/{lid}/inventory", "provider")["forwards"][0]
    assert (inventory["offered"], inventory["free"]) == (0, 10)
    for who, body, status, code in (
        ("provider", {"auto_offer": "reserve"}, 400, "invalid_request"),  # needs a reserve price
        ("provider2", {"auto_offer": "none"}, 404, "not_found"),
        ("provider", {"auto_offer": "always"}, 400, "validation_error"),
    ):
        assert_problem(market.call("PUT", path, who, json=body), status, code)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"gpus": 0}, 400),
        ({"gpus": -1}, 400),
        ({"gpus": True}, 400),
        ({"end": "START"}, 400),  # end == start
        ({"start": "2099-01-01T00:30:00Z", "end": "2099-01-02T00:00:00Z"}, 400),  # not a whole hour
        ({"product": "Z999"}, 404),
        ({"auto_offer": "reserve"}, 400),  # needs a reserve price
        ({"reserve_price": "1.0000001"}, 400),
    ],
)
def test_listing_validation(market: Market, change: dict[str, Any], status: int) -> None:
    body = {"product": "H100", "gpus": 2, "start": market.window[0], "end": market.window[1], **change}
    if body["end"] == "START":
        body["end"] = body["start"]
    assert market.call("POST", "/v1/listings", "provider", json=body).status_code == status


# -- orders ------------------------------------------------------------------------------------


def _sell(market: Market, quantity: int = 4, price: str = "2.500") -> dict[str, Any]:
    return market.ok(
        "POST",
        "/v1/orders",
        "provider",
        201,
        json={"symbol": market.symbol, "side": "sell", "quantity": quantity, "price": price},
    )


def test_buy_against_a_listed_ask_trades_and_shows_everywhere(market: Market) -> None:
    ask = _sell(market)
    order = market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={
            "symbol": market.symbol,
            "side": "buy",
            "quantity": 3,
            "price": "2.500",
            "client_order_id": "hedge-1",
        },
    )
    assert order["status"] == "filled"
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in order["fills"]] == [("2.500", 3, "taker")]
    assert market.ok("GET", f"/v1/orders/{order['id']}", "trader")["filled_quantity"] == 3
    assert market.ok("GET", "/v1/orders/by-client-id/hedge-1", "trader")["id"] == order["id"]
    assert market.ok("GET", f"/v1/orders/{ask['id']}", "provider")["status"] == "partially_filled"
    book = market.ok("GET", f"/v1/instruments/{market.symbol}/book")
    assert (book["bids"], book["asks"]) == ([], [["2.500", 1]])
    assert market.ok("GET", f"/v1/instruments/{market.symbol}/trades")["items"][0]["quantity"] == 3
    assert market.ok("GET", "/v1/positions", "trader")["items"] == [
        {
            "symbol": market.symbol,
            "quantity": 3,
            "cost": market.ok("GET", "/v1/positions", "trader")["items"][0]["cost"],
            "margin": "0.000000",
            "variation": "0.000000",
            "state": "open",
            "average_price": "2.500000",
            "mark": "2.500000",
            "realised_pnl": "0.000000",
            "unrealised_pnl": "0.000000",
            "fees": "0.000000",
        }
    ]
    assert market.ok("GET", "/v1/fills", "trader")["items"][0]["order_id"] == order["id"]
    assert market.ok("GET", "/v1/fills", "provider")["items"][0]["liquidity"] == "maker"
    entries = market.ok("GET", "/v1/ledger", "trader")["items"]
    assert [e["kind"] for e in entries][:1] == ["deposit"]
    me = market.ok("GET", "/v1/me", "trader")
    assert me["open_orders"] == 0
    assert me["balances"]["cash"] != "1000000.000000"  # the notional went to escrow
    assert market.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def test_resending_a_client_order_id_returns_the_original_and_a_different_order_is_409(
    market: Market,
) -> None:
    body = {"symbol": market.symbol, **ORDER, "client_order_id": "c-1"}
    first = market.ok("POST", "/v1/orders", "trader", 201, json=body)
    again = market.ok("POST", "/v1/orders", "trader", 201, json=body)
    assert first["id"] == again["id"]
    assert_problem(
        market.call("POST", "/v1/orders", "trader", json={**body, "quantity": 2}),
        409,
        "duplicate_client_order_id",
    )


def test_amend_cancel_and_mass_cancel(market: Market) -> None:
    a = market.ok("POST", "/v1/orders", "trader", 201, json={"symbol": market.symbol, **ORDER})
    b = market.ok(
        "POST", "/v1/orders", "trader", 201, json={"symbol": market.symbol, **ORDER, "price": "1.900"}
    )
    amended = market.ok("PATCH", f"/v1/orders/{a['id']}", "trader", json={"quantity": 1, "price": "2.100"})
    assert amended["price"] == "2.100"
    assert_problem(market.call("PATCH", f"/v1/orders/{a['id']}", "trader", json={}), 400, "invalid_request")
    assert_problem(
        market.call("PATCH", f"/v1/orders/{a['id']}", "trader", json={"price": "2.1001"}), 400, "off_tick"
    )
    assert market.ok("DELETE", f"/v1/orders/{a['id']}", "trader")["status"] == "cancelled"
    assert_problem(market.call("DELETE", f"/v1/orders/{a['id']}", "trader"), 409, "order_closed")
    live = market.ok("GET", "/v1/orders?status=live", "trader")["items"]
    assert [o["id"] for o in live] == [b["id"]]
    cancelled = market.ok("DELETE", f"/v1/orders?symbol={market.symbol}", "trader")["cancelled"]
    assert [o["id"] for o in cancelled] == [b["id"]]
    assert market.ok("GET", "/v1/me", "trader")["balances"]["reserved"] == "0.000000"


def test_orders_of_another_account_are_404(market: Market) -> None:
    order = market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": market.symbol, **ORDER, "client_order_id": "mine"},
    )
    for method, path, body in (
        ("GET", f"/v1/orders/{order['id']}", None),
        ("GET", "/v1/orders/by-client-id/mine", None),
        ("PATCH", f"/v1/orders/{order['id']}", {"quantity": 1}),
        ("DELETE", f"/v1/orders/{order['id']}", None),
    ):
        assert_problem(market.call(method, path, "trader2", json=body), 404, "not_found")
    assert market.ok("GET", "/v1/orders", "trader2")["items"] == []
    assert market.ok("DELETE", "/v1/orders", "trader2")["cancelled"] == []
    assert market.ok("GET", f"/v1/orders/{order['id']}", "trader")["status"] == "open"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"quantity": 0}, 400, "validation_error"),
        ({"quantity": -3}, 400, "validation_error"),
        ({"quantity": 1.5}, 400, "validation_error"),
        ({"quantity": True}, 400, "validation_error"),
        ({"quantity": 2**63}, 400, "validation_error"),
        ({"price": "NaN"}, 400, "validation_error"),
        ({"price": "Infinity"}, 400, "validation_error"),
        ({"price": 2.0}, 400, "validation_error"),
        ({"price": "2.0005"}, 400, "off_tick"),
        ({"price": "1" * 40}, 400, "validation_error"),
        ({"side": "hold"}, 400, "validation_error"),
        ({"time_in_force": "day"}, 400, "validation_error"),
        ({"leverage": 10}, 400, "validation_error"),
        ({"expire_at": "tomorrow"}, 400, "validation_error"),
        ({"client_order_id": "x" * 65}, 400, "validation_error"),
        ({"symbol": "H100-2099-01"}, 404, "unknown_instrument"),
        ({"quantity": 10_000_000}, 409, "insufficient_funds"),
    ],
)
def test_order_validation(market: Market, change: dict[str, Any], status: int, code: str) -> None:
    body = {"symbol": market.symbol, **ORDER, **change}
    problem = assert_problem(market.call("POST", "/v1/orders", "trader", json=body), status, code)
    if code == "validation_error":
        assert problem["errors"][0]["field"] in change


def test_selling_unlisted_capacity_is_refused(market: Market) -> None:
    body = {"symbol": market.symbol, "side": "sell", "quantity": 11, "price": "2.500"}
    assert_problem(market.call("POST", "/v1/orders", "provider", json=body), 409, "inventory_exceeded")
    assert_problem(
        market.call("POST", "/v1/orders", "provider2", json={**body, "quantity": 1}),
        409,
        "inventory_exceeded",
    )


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "limit=abc", "limit=true", "cursor=%21%21", "cursor=YzE6eA", "status=bogus"],
)
def test_list_parameters_are_validated(market: Market, query: str) -> None:
    response = market.call("GET", f"/v1/orders?{query}", "trader")
    assert response.status_code == 400, response.text


def test_pages_follow_cursors(market: Market) -> None:
    ids = [
        market.ok("POST", "/v1/orders", "trader", 201, json={"symbol": market.symbol, **ORDER})["id"]
        for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        page = market.ok("GET", "/v1/orders?limit=2" + (f"&cursor={cursor}" if cursor else ""), "trader")
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


# -- pricing -----------------------------------------------------------------------------------


def test_price_returns_the_pricing_result(market: Market) -> None:
    result = market.ok("POST", "/v1/price", "trader", json=PRICE_REQUEST)
    assert result["method"] == "analytic"
    assert result["value"] == pytest.approx(0.2806324, abs=1e-6)  # Black-76, F = K = 2, vol .5, T = .5


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({**PRICE_REQUEST, "model": {**PRICE_REQUEST["model"], "vol": -0.5}}, "model.vol"),
        ({**PRICE_REQUEST, "extra": 1}, "extra"),
        ({**PRICE_REQUEST, "mc": {"paths": 10**9}}, "mc.paths"),
        ({"model": PRICE_REQUEST["model"]}, "instrument"),
    ],
)
def test_price_validation_names_the_field(market: Market, request_body: dict[str, Any], field: str) -> None:
    problem = assert_problem(
        market.call("POST", "/v1/price", "trader", json=request_body), 400, "invalid_request"
    )
    assert problem["errors"][0]["field"].startswith(field)


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        (  # an unbounded payoff whose tail Monte Carlo cannot sample (log-variance 50)
            {
                "model": {"type": "gbm", "spot": 2.0, "vol": 5.0},
                "instrument": {"type": "bermudan", "kind": "call", "strike": 2.0, "exercise": [1.0, 2.0]},
            },
            "model",
        ),
        (  # a Sobol grid beyond its dimension
            {
                "model": PRICE_REQUEST["model"],
                "instrument": {**PRICE_REQUEST["instrument"], "expiry": 1.0},
                "method": "mc",
                "mc": {"paths": 64, "steps_per_year": 30000},
            },
            "mc.sampler",
        ),
    ],
)
def test_price_refuses_what_it_cannot_value_with_422(
    market: Market, request_body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(
        market.call("POST", "/v1/price", "trader", json=request_body), 422, "not_computable"
    )
    assert problem["errors"][0]["field"] == field


def test_price_rejects_non_json_numbers(market: Market) -> None:
    body = b'{"model": {"type": "gbm", "spot": NaN}}'
    response = market.call(
        "POST", "/v1/price", "trader", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_market_order_takes_the_best_ask_and_never_rests(market: Market) -> None:
    _sell(market, quantity=2, price="2.400")
    _sell(market, quantity=2, price="2.500")
    order = market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": market.symbol, "side": "buy", "type": "market", "quantity": 3},
    )
    assert (order["status"], order["time_in_force"]) == ("filled", "ioc")
    assert [(f["price"], f["quantity"]) for f in order["fills"]] == [("2.400", 2), ("2.500", 1)]
    gtc = {"symbol": market.symbol, "side": "buy", "type": "market", "quantity": 1, "time_in_force": "gtc"}
    assert_problem(market.call("POST", "/v1/orders", "trader", json=gtc), 400, "invalid_request")


def test_options_on_forwards(market: Market) -> None:
    # the month after the fixture's (next) month: a European option on next month expires two business
    # days before it starts, which late in a month is already past
    after = datetime.fromisoformat(market.ok("GET", f"/v1/instruments/{market.symbol}")["window_start"])
    start = next_month_start(after).isoformat().replace("+00:00", "Z")
    market.ok("POST", "/v1/products", "admin", 201, json={"id": "A100"})
    cash = market.ok(
        "POST",
        "/v1/instruments",
        "admin",
        201,
        json={"type": "forward", "product": "A100", "window": "month", "start": start, "settlement": "cash"},
    )
    call = market.ok(
        "POST",
        "/v1/instruments",
        "admin",
        201,
        json={"type": "option", "underlying": cash["symbol"], "option_kind": "call", "strike": "1.30"},
    )
    assert (call["symbol"], call["kind"], call["strike"], call["underlying"]) == (
        f"{cash['symbol']}-C1.30",
        "option",
        "1.300",
        cash["symbol"],
    )
    assert call["expiry"] < cash["window_start"]  # European options expire before delivery
    asian = market.ok(
        "POST",
        "/v1/instruments",
        "admin",
        201,
        json={
            "type": "option",
            "underlying": market.symbol,
            "option_kind": "put",
            "strike": "2.5",
            "style": "asian",
        },
    )
    assert asian["kind"] == "asian"
    listed = market.ok("GET", "/v1/instruments?type=option")["items"]
    assert [i["symbol"] for i in listed] == [call["symbol"]]
    european_on_physical = {
        "type": "option",
        "underlying": market.symbol,
        "option_kind": "call",
        "strike": "2.5",
    }
    assert_problem(
        market.call("POST", "/v1/instruments", "admin", json=european_on_physical), 400, "invalid_request"
    )
    off_tick = {**european_on_physical, "underlying": cash["symbol"], "strike": "1.3005"}
    assert_problem(market.call("POST", "/v1/instruments", "admin", json=off_tick), 400, "off_tick")
