"""Rate limits, the pricing budget, idempotency keys and body limits through the real application."""

from __future__ import annotations

import msgspec

from api.app import MAX_BODY_BYTES
from tests.api.conftest import Market, make_client
from tests.api.test_routes import PRICE_REQUEST, assert_problem


def test_requests_beyond_the_rate_limit_get_429_with_retry_after(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, rate_limit=1.0, rate_burst=3) as client:
        headers = {"Authorization": f"Bearer {admin_key}"}
        statuses = [client.get("/v1/me", headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = client.get("/v1/me", headers=headers)
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/v1/products").status_code == 200  # public routes: a bucket per address
        made_up = [client.get("/v1/products", headers={"Authorization": f"Bearer junk{i}"}) for i in range(3)]
        assert made_up[-1].status_code == 429  # made-up keys share the address's bucket
        assert client.get("/health").status_code == 200  # never limited


def test_pricing_budget_is_per_key(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, price_budget=1e-9) as client:
        headers = {"Authorization": f"Bearer {admin_key}"}
        assert client.post("/v1/price", json=PRICE_REQUEST, headers=headers).status_code == 200
        refused = client.post("/v1/price", json=PRICE_REQUEST, headers=headers)
        assert_problem(refused, 429, "rate_limited")
        assert "pricing" in refused.json()["detail"]


def test_idempotency_key_replays_a_post_and_refuses_a_different_body(market: Market) -> None:
    headers = {"Idempotency-Key": "product-b200"}
    first = market.call("POST", "/v1/products", "admin", json={"id": "B200"}, headers=headers)
    again = market.call("POST", "/v1/products", "admin", json={"id": "B200"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = market.call("POST", "/v1/products", "admin", json={"id": "A100"}, headers=headers)
    assert_problem(other, 409, "idempotency_key_reused")
    without = market.call("POST", "/v1/products", "admin", json={"id": "B200"})
    assert_problem(without, 409, "already_exists")  # no key: a real second attempt


def test_oversized_bodies_are_413(market: Market) -> None:
    body = msgspec.json.encode(
        {
            "symbol": market.symbol,
            "side": "buy",
            "quantity": 1,
            "price": "1",
            "client_order_id": "x" * MAX_BODY_BYTES,
        }
    )
    for extra in ({}, {"Idempotency-Key": "big"}):
        response = market.call(
            "POST",
            "/v1/orders",
            "trader",
            content=body,
            headers={"content-type": "application/json", **extra},
        )
        assert_problem(response, 413, "body_too_large")
