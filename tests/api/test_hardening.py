"""Regression tests for the adversarial audit of issue #12 (API side): each test repeats what the
audit did and checks the answer the API now gives."""

from __future__ import annotations

import base64
import os
import sqlite3
import time
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from api.edge import json_depth
from api.pagination import encode_cursor
from api.pricing_jobs import PricingPool, estimate
from market import db
from market.instruments import PRODUCT_PATTERN
from tests.api.conftest import API_NOW, Market, make_client, next_month_start
from tests.api.test_routes import PRICE_REQUEST, assert_problem

HEAVY = {
    "model": {"type": "gbm", "spot": 2.0, "vol": 0.5, "carry": 0.0},
    "instrument": {"type": "european", "kind": "call", "strike": 2.0, "expiry": 2.0},
    "method": "mc",
    "mc": {"paths": 4_000_000, "steps_per_year": 5},
}
"""A Monte Carlo request that runs for seconds (4M paths x 11 time points)."""


# -- 1. pricing isolation ---------------------------------------------------------------------------


def test_cost_is_paths_times_time_points_times_valuations() -> None:
    assert estimate(PRICE_REQUEST).path_points == 0  # a closed form
    assert estimate(HEAVY).path_points == 4_000_000 * (1 + 2 * 5 + 1)
    greeks = {**HEAVY, "greeks": True, "mc": {"paths": 1000}}
    assert estimate(greeks).path_points == 1000 * 1 * 8


@pytest.mark.parametrize("paths", [1e7, 1e3, 4000.0, "1000", True])
def test_path_counts_must_be_json_integers(market: Market, paths: Any) -> None:
    """Audit: `"paths": 1e7` (a float) slipped past the 5M cap."""
    body = {**HEAVY, "mc": {"paths": paths}}
    response = market.call("POST", "/v1/price", "trader", json=body)
    problem = assert_problem(response, 400, "invalid_request")
    assert problem["errors"][0]["field"] == "mc.paths"


def test_a_request_over_the_cost_ceiling_is_refused_before_it_runs(market: Market) -> None:
    """Audit: 5M paths x 100,000 steps a year x 50 years was accepted."""
    body = {
        **HEAVY,
        "instrument": {**HEAVY["instrument"], "expiry": 50.0},
        "mc": {"paths": 5_000_000, "steps_per_year": 100_000},
    }
    started = time.perf_counter()
    problem = assert_problem(market.call("POST", "/v1/price", "trader", json=body), 422, "too_expensive")
    assert time.perf_counter() - started < 2.0
    assert "25,000,010,000,000" in problem["detail"]


def test_the_estimate_is_charged_before_the_request_runs(sqlite_url: str, admin_key: str) -> None:
    """A key's budget is charged the estimate up front: a request estimated above the whole budget is
    refused outright, and one that fits leaves the bucket short for the next before it has run."""
    with make_client(sqlite_url, price_budget=1.0) as client:
        headers = {"Authorization": f"Bearer {admin_key}"}
        assert_problem(client.post("/v1/price", json=HEAVY, headers=headers), 422, "too_expensive")
        small = {**HEAVY, "mc": {"paths": 400_000, "steps_per_year": 5}}  # 4.8M points, ~1 s
        assert client.post("/v1/price", json=small, headers=headers).status_code == 200
        refused = client.post("/v1/price", json=small, headers=headers)
        assert_problem(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_cancelled_request_kills_its_worker_process() -> None:
    """Audit: worker threads kept running after the client disconnected. Cancellation (a client gone,
    a deadline passed) now kills the process doing the work."""

    async def scenario() -> tuple[float, list[int]]:
        pool = PricingPool(workers=2, timeout=60)
        try:
            await pool.run("warm", PRICE_REQUEST)  # start a worker
            pids = [w.process.pid for w in pool._idle]
            with anyio.move_on_after(1.0):  # a job of tens of seconds, well past the deadline
                await pool.run("k", {**HEAVY, "mc": {"paths": 5_000_000, "steps_per_year": 50}})
            stopped = time.perf_counter()
            while any(_alive(pid) for pid in pids) and time.perf_counter() - stopped < 5:
                await anyio.sleep(0.05)
            return time.perf_counter() - stopped, pids
        finally:
            pool.close()

    waited, pids = anyio.run(scenario)
    assert not any(_alive(pid) for pid in pids)
    assert waited < 2.0


def test_a_request_past_its_deadline_is_stopped_with_503(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, price_timeout=1.0) as client:
        started = time.perf_counter()
        response = client.post("/v1/price", json=HEAVY, headers={"Authorization": f"Bearer {admin_key}"})
        assert_problem(response, 503, "pricing_timeout")
        assert time.perf_counter() - started < 10


def test_the_queue_serves_keys_round_robin_and_never_gives_one_key_every_worker() -> None:
    async def scenario() -> list[str]:
        pool = PricingPool(workers=2, timeout=60)
        order: list[str] = []
        pool._execute = _recording(order)  # type: ignore[method-assign]
        async with anyio.create_task_group() as tasks:
            for key in ("a", "a", "a", "b", "c"):
                tasks.start_soon(pool.run, key, {"key": key})
                await anyio.sleep(0)
        return order

    order = anyio.run(scenario)
    assert order[:3] == ["a", "b", "c"]  # a's later jobs wait their turn behind b and c
    assert sorted(order) == ["a", "a", "a", "b", "c"]


def _recording(order: list[str]) -> Any:
    async def execute(data: dict[str, Any]) -> tuple[str, Any, Any]:
        order.append(data["key"])
        await anyio.sleep(0.05)
        return ("ok", {}, None)

    return execute


# -- 2. rate limits ------------------------------------------------------------------------------


def test_rate_limits_follow_the_key_not_the_header_spelling(sqlite_url: str, admin_key: str) -> None:
    """Audit: `bearer`, `BEARER` or an extra space opened a fresh bucket (300 requests, 0 limited)."""
    with make_client(sqlite_url, rate_limit=0.5, rate_burst=4) as client:
        spellings = ["Bearer", "bearer", "BEARER", "Bearer ", "bEaReR  "]
        statuses = [
            client.get("/v1/me", headers={"Authorization": f"{s} {admin_key}"}).status_code for s in spellings
        ]
        assert statuses == [200, 200, 200, 200, 429]


def test_failed_authentication_is_limited_per_address(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, rate_limit=1000.0, rate_burst=1000) as client:
        statuses = [
            client.get("/v1/me", headers={"Authorization": f"Bearer guess{i}"}).status_code for i in range(40)
        ]
        assert statuses[:30] == [401] * 30
        assert set(statuses[30:]) == {429}


def test_every_response_carries_the_ratelimit_headers(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url, rate_limit=2.0, rate_burst=10) as client:
        for response in (
            client.get("/v1/products"),
            client.get("/v1/me", headers={"Authorization": f"Bearer {admin_key}"}),
            client.get("/v1/me"),
            client.get("/nowhere"),
            client.post("/v1/orders", json={}),
        ):
            assert response.headers["ratelimit-policy"] == '"requests";q=10;w=5', response.status_code
            assert response.headers["ratelimit"].startswith('"requests";r=')


# -- 6. strict typing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 1.0}, "quantity"),
        ({"quantity": "1"}, "quantity"),
        ({"post_only": 1}, "post_only"),
        ({"post_only": "true"}, "post_only"),
    ],
)
def test_orders_refuse_loosely_typed_fields(market: Market, change: dict[str, Any], field: str) -> None:
    body = {"symbol": market.symbol, "side": "buy", "quantity": 1, "price": "1.000", **change}
    problem = assert_problem(market.call("POST", "/v1/orders", "trader", json=body), 400, "validation_error")
    assert problem["errors"][0]["field"] == field
    assert market.ok("GET", "/v1/orders", "trader")["items"] == []


def test_quantity_written_1e0_is_refused(market: Market) -> None:
    raw = f'{{"symbol": "{market.symbol}", "side": "buy", "quantity": 1e0, "price": "1.000"}}'
    json_type = {"content-type": "application/json"}
    response = market.call("POST", "/v1/orders", "trader", content=raw, headers=json_type)
    assert_problem(response, 400, "validation_error")


def test_listing_gpus_as_a_string_is_refused(market: Market) -> None:
    body = {"product": "H100", "gpus": "8", "start": market.window[0], "end": market.window[1]}
    assert_problem(market.call("POST", "/v1/listings", "provider", json=body), 400, "validation_error")


def test_a_body_that_is_not_json_gets_415(market: Market) -> None:
    raw = f'{{"symbol": "{market.symbol}", "side": "buy", "quantity": 1, "price": "1.000"}}'
    text_type = {"content-type": "text/plain"}
    response = market.call("POST", "/v1/orders", "trader", content=raw, headers=text_type)
    assert_problem(response, 415, "unsupported_media_type")
    assert market.ok("GET", "/v1/orders", "trader")["items"] == []


# -- 7. no 500s ----------------------------------------------------------------------------------


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[["') == 0
    assert json_depth(b"[" * 10_000 + b"]" * 10_000) == 10_000


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/price"])
def test_json_nested_ten_thousand_deep_is_400(market: Market, path: str) -> None:
    raw = '{"symbol": ' + "[" * 10_000 + "]" * 10_000 + "}"
    response = market.call("POST", path, "trader", content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize(
    "query",
    [
        "start=2027-01-01T00:00:00",
        "end=2027-01-01T00:00:00",
        "end=0001-01-01T00:00:00Z",
        "start=9999-12-31T23:00:00Z",
        "end=not-a-date",
    ],
)
def test_bad_instants_in_queries_are_400(market: Market, query: str) -> None:
    for path in (f"/v1/instruments/{market.symbol}/candles", "/v1/index/H100"):
        assert_problem(market.call("GET", f"{path}?{query}"), 400, "validation_error")


def test_a_forward_starting_in_year_9999_is_400(market: Market) -> None:
    body = {"type": "forward", "product": "H100", "window": "month", "start": "9999-12-01T00:00:00Z"}
    response = market.call("POST", "/v1/instruments", "admin", json=body)
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"][0]["field"] == "start"


# -- 9. contract ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/orders?symbol=lower"),
        ("GET", "/v1/orders?symbol=lower"),
        ("GET", "/v1/instruments/lower/book"),
        ("GET", "/v1/index/h100"),
        ("GET", "/v1/orders/has%20space"),
    ],
)
def test_path_and_query_patterns_are_enforced(market: Market, method: str, path: str) -> None:
    assert_problem(market.call(method, path, "trader"), 400, "validation_error")


def test_the_openapi_document_is_valid_3_1_and_closes_request_bodies(market: Market) -> None:
    document = market.ok("GET", "/schema/openapi.json")
    validate(document)  # raises on `items: [..]` and anything else 3.1 does not allow
    schemas = document["components"]["schemas"]
    for name in ("OrderCreate", "OrderAmend", "ListingCreate", "DepositCreate", "ForwardCreate", "FixingIn"):
        assert schemas[name]["additionalProperties"] is False, name
    product = schemas["ProductCreate"]["properties"]["id"]
    assert product["pattern"] == PRODUCT_PATTERN


def test_options_lists_every_method_of_a_path_without_a_key(market: Market) -> None:
    """Audit: `OPTIONS` left GET out of `Allow` (and needed a key)."""
    for path, allow in (
        ("/v1/orders", "DELETE, GET, OPTIONS, POST"),
        ("/v1/orders/ord_1", "DELETE, GET, OPTIONS, PATCH"),
        ("/v1/orders/by-client-id/x", "GET, OPTIONS"),
        (f"/v1/instruments/{market.symbol}/book", "GET, OPTIONS"),
    ):
        response = market.call("OPTIONS", path)
        assert response.status_code == 204
        assert response.headers["allow"] == allow


def test_made_up_cursors_are_400(market: Market) -> None:
    """Audit: well-formed but made-up cursors were answered 200 (and `c1:9223372036854775807` on the
    index was a 500): cursors now carry an HMAC tag."""
    unsigned = base64.urlsafe_b64encode(b"c1:9223372036854775807").decode().rstrip("=")
    forged = encode_cursor(5)[:-1] + ("A" if encode_cursor(5)[-1] != "A" else "B")
    for cursor in (unsigned, f"{unsigned}.AAAAAAAAAAAAAAAA", forged):
        for path in ("/v1/index/H100", f"/v1/instruments/{market.symbol}/trades"):
            response = market.call("GET", f"{path}?cursor={cursor}")
            assert response.status_code == 400, (path, cursor, response.text)
        assert market.call("GET", f"/v1/orders?cursor={cursor}", "trader").status_code == 400


def test_an_order_the_book_refuses_is_a_400_with_the_books_reason(market: Market) -> None:
    """Audit: engine rejections came back as 201 with `status: rejected` while the docs listed 400."""
    ask = {"symbol": market.symbol, "side": "sell", "quantity": 2, "price": "2.500"}
    market.ok("POST", "/v1/orders", "provider", 201, json=ask)
    bid = {**ask, "side": "buy", "post_only": True, "client_order_id": "maker-only"}
    refused = market.call("POST", "/v1/orders", "trader", json=bid)
    problem = assert_problem(refused, 400, "post_only_would_take")
    assert problem["errors"][0]["field"] == "order"
    stored = market.ok("GET", "/v1/orders/by-client-id/maker-only", "trader")
    assert (stored["status"], stored["reason"]) == ("rejected", "post_only_would_take")
    again = market.call("POST", "/v1/orders", "trader", json=bid)  # a resend gets the same answer
    assert_problem(again, 400, "post_only_would_take")


# -- 10. open-order cap ------------------------------------------------------------------------


def test_open_orders_are_capped_per_account_and_counted_in_constant_time(
    sqlite_url: str, admin_key: str
) -> None:
    """Audit: no cap on open orders, and /v1/me walked every live order (397 ms at 3,000)."""
    with make_client(sqlite_url, max_open_orders=2) as client:
        admin = {"Authorization": f"Bearer {admin_key}"}
        trader = client.post("/v1/accounts", json={"name": "t", "roles": ["trader"]}, headers=admin).json()
        auth = {"Authorization": f"Bearer {trader['api_key']}"}
        deposit = {"amount": "100000"}
        client.post(f"/v1/accounts/{trader['account']['id']}/deposits", json=deposit, headers=admin)
        client.post("/v1/products", json={"id": "H100"}, headers=admin)
        start = next_month_start(API_NOW).isoformat()
        forward = client.post(
            "/v1/instruments",
            json={"type": "forward", "product": "H100", "window": "month", "start": start},
            headers=admin,
        ).json()
        bid = {"symbol": forward["symbol"], "side": "buy", "quantity": 1, "price": "1.000"}
        first = [client.post("/v1/orders", json=bid, headers=auth) for _ in range(2)]
        assert [r.status_code for r in first] == [201, 201]
        assert client.get("/v1/me", headers=auth).json()["open_orders"] == 2
        refused = client.post("/v1/orders", json=bid, headers=auth)
        assert_problem(refused, 409, "open_order_limit_exceeded")
        client.delete(f"/v1/orders/{first[0].json()['id']}", headers=auth)
        assert client.get("/v1/me", headers=auth).json()["open_orders"] == 1
        assert client.post("/v1/orders", json=bid, headers=auth).status_code == 201
        ioc = {**bid, "time_in_force": "ioc"}  # checked before matching: at the cap, even an IOC waits
        assert client.post("/v1/orders", json=ioc, headers=auth).status_code == 409
        client.delete("/v1/orders", headers=auth)
        assert client.get("/v1/me", headers=auth).json()["open_orders"] == 0


@pytest.mark.parametrize("query", ["request=1", "ctx=1", "principal=x", "colour=red"])
def test_unknown_query_parameters_are_400_even_when_named_like_a_dependency(
    market: Market, query: str
) -> None:
    assert_problem(market.call("GET", f"/v1/orders?{query}", "trader"), 400, "validation_error")
    assert_problem(
        market.call("POST", f"/v1/price?{query}", "trader", json=PRICE_REQUEST), 400, "validation_error"
    )


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("GET", "/v1/deliveries/{id}", "trader"),
        ("POST", "/v1/deliveries/{id}/access", "provider"),
        ("GET", "/v1/listings/{id}/inventory", "provider"),
        ("GET", "/v1/hedges/{id}", "trader"),
        ("GET", "/v1/pools/{id}", "provider"),
    ],
)
def test_row_ids_past_the_integer_columns_are_refused_at_the_edge(
    any_market: Market, method: str, path: str, who: str
) -> None:
    """An id no INTEGER key can hold is a 400 naming the parameter on every database (PostgreSQL
    would otherwise fail the query as out of range: a 422 the document did not promise)."""
    from api.params import MAX_ROW_ID

    body = {"handle": "ssh://gpu"} if method == "POST" else None
    for bad in (MAX_ROW_ID + 1, 10**22, 0):
        response = any_market.call(method, path.format(id=bad), who, json=body)
        problem = assert_problem(response, 400, "validation_error")
        assert "id" in str(problem["errors"][0]["field"]), problem
    found = any_market.call(method, path.format(id=MAX_ROW_ID), who, json=body)
    assert found.status_code == 404, found.text


def test_a_write_the_database_cannot_take_in_time_is_503_and_writes_nothing(
    sqlite_url: str, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(sa.make_url(sqlite_url).database)
    admin = {"Authorization": f"Bearer {admin_key}"}
    with make_client(sqlite_url) as client:
        holder.execute("BEGIN IMMEDIATE")  # a writer outside the server holds the lock past the timeout
        busy = client.post("/v1/accounts", json={"name": "late", "roles": ["trader"]}, headers=admin)
        holder.rollback()
        holder.close()
        assert_problem(busy, 503, "database_busy")
        again = client.post("/v1/accounts", json={"name": "late", "roles": ["trader"]}, headers=admin)
        assert again.status_code == 201, again.text  # a name already taken would be 409: nothing was written
