"""Unit tests of the API's building blocks that need no exchange: limits, cursors, idempotency, errors."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.middleware import DefineMiddleware
from litestar.params import JSONBody
from litestar.testing import TestClient

from api.auth import CACHE_SECONDS, Authenticator, Principal, bearer_key
from api.batching import OrderBatcher
from api.errors import EXCEPTION_HANDLERS, ApiError
from api.idempotency import IdempotencyMiddleware, IdempotencyStore
from api.pagination import decode_cursor, encode_cursor, page_of
from api.ratelimit import TokenBuckets
from api.schemas.common import Price, Quantity, Request
from market.errors import InsufficientFundsError, UnauthorizedError
from market.records import OrderRequest


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- token buckets -----------------------------------------------------------------------------


def test_bucket_allows_burst_then_refuses_with_the_wait_until_refill() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)  # one token at 2/s
    clock.now = 0.5
    assert buckets.take("k") == 0.0
    assert buckets.take("other") == 0.0  # keys are independent


def test_bucket_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(rate=1.0, burst=2, clock=clock)
    buckets.take("k")
    clock.now = 1000.0
    assert [buckets.take("k") for _ in range(3)][-1] > 0


def test_compute_budget_is_charged_up_front_and_settled_into_debt() -> None:
    clock = FakeClock()
    budget = TokenBuckets(rate=1.0, burst=5, clock=clock)
    assert budget.take("k", 4.0) == 0.0  # the estimate, charged before the job runs
    assert budget.take("k", 2.0) == pytest.approx(1.0)  # a second job must wait for the first's charge
    budget.charge("k", 4.0)  # the job took 8 s, not 4: settle the difference (3 s of debt)
    assert budget.take("k", 0.0) == pytest.approx(3.0)
    clock.now = 3.5
    assert budget.take("k", 0.0) == 0.0
    budget.charge("k", -100.0)  # refunds never lift a bucket above its burst
    assert budget.remaining("k") == 5.0


# -- cursors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [0, 17, 2**63 - 1, "ord_01HZX", "acc_1f2e"])
def test_cursor_round_trip(key: int | str) -> None:
    assert decode_cursor(encode_cursor(key), type(key)) == key


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "bm90LWEtY3Vyc29y", encode_cursor("a b"), encode_cursor("x" * 65)],
    ids=["not-base64", "unsigned", "space-in-key", "key-too-long"],  # the signed ones differ per process
)
def test_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ApiError) as info:
        decode_cursor(cursor, str)
    assert info.value.code == "invalid_cursor"
    assert info.value.field == "cursor"


def test_string_cursor_is_not_accepted_for_an_integer_keyed_list() -> None:
    with pytest.raises(ApiError):
        decode_cursor(encode_cursor("ord_1"), int)
    with pytest.raises(ApiError):
        decode_cursor(encode_cursor(2**63), int)


def test_page_signals_more_only_when_an_extra_row_was_fetched() -> None:
    full = page_of([1, 2, 3], 2, key=lambda r: r, render=str)
    assert full.items == ["1", "2"]
    assert decode_cursor(full.next_cursor, int) == 2
    last = page_of([1, 2], 2, key=lambda r: r, render=str)
    assert last.next_cursor is None


# -- problem details and validation ------------------------------------------------------------


class Body(Request):
    quantity: Quantity
    price: Price
    nested: dict[str, int] | None = None


@post("/things", status_code=201)
async def create_thing(data: JSONBody[Body]) -> dict[str, Any]:
    return {"quantity": data.quantity}


@get("/broke")
async def broke() -> None:
    raise RuntimeError("secret internals")


@get("/poor")
async def poor() -> None:
    raise InsufficientFundsError("available 1.00 < required 2.00", field="quantity")


@pytest.fixture
def mini() -> TestClient[Litestar]:
    app = Litestar(
        [create_thing, broke, poor], exception_handlers=EXCEPTION_HANDLERS, request_max_body_size=1024
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:flopex:problem:{code}"
    return body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b'{"quantity": true, "price": "1.0"}', "quantity"),
        (b'{"quantity": 1.5, "price": "1.0"}', "quantity"),
        (b'{"quantity": 0, "price": "1.0"}', "quantity"),
        (b'{"quantity": 99999999999999999999999, "price": "1.0"}', "quantity"),
        (b'{"quantity": 1, "price": "NaN"}', "price"),
        (b'{"quantity": 1, "price": "1e5"}', "price"),
        (b'{"quantity": 1, "price": "1.0000001"}', "price"),
        (b'{"quantity": 1, "price": 1.0}', "price"),
        (b'{"quantity": 1, "price": "1.0", "extra": 1}', "extra"),
        (b'{"quantity": 1}', "price"),
    ],
)
def test_validation_errors_name_the_field(mini: TestClient, payload: bytes, field: str) -> None:
    response = mini.post("/things", content=payload, headers={"content-type": "application/json"})
    body = _problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == field
    assert field in body["detail"]


@pytest.mark.parametrize(
    "payload", [b"NaN", b'{"quantity": Infinity}', b'{"quantity": 1e999, "price": "1"}', b"{"]
)
def test_non_json_numbers_and_broken_json_are_400(mini: TestClient, payload: bytes) -> None:
    response = mini.post("/things", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_oversized_body_is_413(mini: TestClient) -> None:
    payload = msgspec.json.encode({"quantity": 1, "price": "1", "nested": {f"k{i}": i for i in range(200)}})
    _problem(
        mini.post("/things", content=payload, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )


def test_unexpected_errors_hide_internals(mini: TestClient) -> None:
    body = _problem(mini.get("/broke"), 500, "internal_error")
    assert "secret" not in mini.get("/broke").text
    assert "Traceback" not in body["detail"]


def test_market_errors_keep_their_code_status_and_field(mini: TestClient) -> None:
    body = _problem(mini.get("/poor"), 409, "insufficient_funds")
    assert body["errors"] == [{"field": "quantity", "reason": "available 1.00 < required 2.00"}]


def test_unknown_route_is_a_404_problem(mini: TestClient) -> None:
    _problem(mini.get("/nowhere"), 404, "not_found")


# -- idempotency -------------------------------------------------------------------------------


@pytest.fixture
def counting() -> tuple[TestClient[Litestar], list[int]]:
    calls: list[int] = []
    counter = itertools.count(1)

    @post("/effects", status_code=201)
    async def effect(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        calls.append(1)
        return {"n": next(counter), **data}

    @post("/flaky", status_code=201)
    async def flaky(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise ApiError("rate_limited", "slow down", status=429)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        if len(calls) == 3:  # a standby: the process holding the book is named, nothing was done
            raise ApiError("book_elsewhere", "send it to the holder", status=421)
        return {"n": len(calls)}

    def resolve(key: str) -> Principal:
        if key not in ("a", "a2", "b"):
            raise UnauthorizedError("unknown")
        return Principal("acc_b" if key == "b" else "acc_a", frozenset({"trader"}))

    store = IdempotencyStore()
    app = Litestar(
        [effect, flaky],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            DefineMiddleware(
                IdempotencyMiddleware, store=store, authenticator=Authenticator(resolve), max_body=1024
            )
        ],
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, calls


def test_same_key_same_body_replays_the_stored_response(counting: tuple[TestClient, list[int]]) -> None:
    client, calls = counting
    headers = {"Idempotency-Key": "k-1", "Authorization": "Bearer a"}
    first = client.post("/effects", json={"x": 1}, headers=headers)
    again = client.post("/effects", json={"x": 1}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"n": 1, "x": 1}
    assert again.headers["idempotent-replayed"] == "true"
    assert len(calls) == 1


def test_same_key_different_body_is_409(counting: tuple[TestClient, list[int]]) -> None:
    client, calls = counting
    headers = {"Idempotency-Key": "k-2", "Authorization": "Bearer a"}
    client.post("/effects", json={"x": 1}, headers=headers)
    clash = client.post("/effects", json={"x": 2}, headers=headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "idempotency_key_reused"
    assert len(calls) == 1


def test_keys_are_scoped_to_the_caller_and_optional(counting: tuple[TestClient, list[int]]) -> None:
    client, calls = counting
    client.post("/effects", json={"x": 1}, headers={"Idempotency-Key": "k", "Authorization": "Bearer a"})
    client.post("/effects", json={"x": 1}, headers={"Idempotency-Key": "k", "Authorization": "Bearer b"})
    client.post("/effects", json={"x": 1})
    client.post("/effects", json={"x": 1})
    assert len(calls) == 4


@pytest.mark.parametrize("spelling", ["bearer a", "BEARER a", "Bearer   a", "Bearer a2"])
def test_keys_are_scoped_by_account_not_by_the_header_spelling(
    counting: tuple[TestClient, list[int]], spelling: str
) -> None:
    """Audit: `bearer` vs `Bearer` with one key placed a second order (a2 is the account's other key)."""
    client, calls = counting
    client.post("/effects", json={"x": 1}, headers={"Idempotency-Key": "k", "Authorization": "Bearer a"})
    headers = {"Idempotency-Key": "k", "Authorization": spelling}
    again = client.post("/effects", json={"x": 1}, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert len(calls) == 1


def test_only_completed_outcomes_are_stored(counting: tuple[TestClient, list[int]]) -> None:
    """Audit: a 429 was stored and replayed for 24 h; neither a 429, a 5xx nor a 421 (the request
    goes to another process with the same key, api.standby) may be."""
    client, calls = counting
    headers = {"Idempotency-Key": "retry-me", "Authorization": "Bearer a"}
    assert client.post("/flaky", json={}, headers=headers).status_code == 429
    assert client.post("/flaky", json={}, headers=headers).status_code == 500
    assert client.post("/flaky", json={}, headers=headers).status_code == 421
    done = client.post("/flaky", json={}, headers=headers)
    assert done.status_code == 201
    assert "idempotent-replayed" not in done.headers
    replay = client.post("/flaky", json={}, headers=headers)
    assert replay.json() == done.json() == {"n": 4}
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(calls) == 4


def _post_once(answer: Any, store: IdempotencyStore, client: Any) -> None:
    """One ``POST /orders`` with key ``k`` of account ``acc_a`` through the idempotency middleware in
    front of ``answer``; ``client`` receives what goes out."""

    async def request() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    middleware = IdempotencyMiddleware(
        answer,
        store=store,
        authenticator=Authenticator(lambda key: Principal("acc_a", frozenset())),
        max_body=64,
    )
    headers = [(b"authorization", b"Bearer a"), (b"idempotency-key", b"k")]
    scope = {"type": "http", "method": "POST", "path": "/orders", "headers": headers}
    asyncio.run(middleware(scope, request, client))  # type: ignore[arg-type]


@pytest.mark.parametrize(("status", "kept"), [(421, False), (429, False), (201, True)])
def test_the_key_is_settled_before_the_client_reads_the_answer(status: int, kept: bool) -> None:
    """Audit: a 421's client resent the request with its key to the process named at once and got
    409 idempotency_key_in_use: the key was released only after the answer had gone out."""
    store = IdempotencyStore()
    seen: list[Any] = []

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def client(message: dict[str, Any]) -> None:  # reads the key's state as the answer arrives
        if message["type"] == "http.response.body":
            seen.append(await store.claim(("acc_a", "k"), "probe"))

    _post_once(answer, store, client)
    [stored] = seen
    if kept:
        assert stored is not None
        assert (stored.done, stored.status) == (True, status)
    else:
        assert stored is None  # free: the resent request runs


def test_a_store_failing_to_keep_the_answer_does_not_withhold_it() -> None:
    """The request ran: if the store cannot record its outcome (the shared store's database is busy),
    the client still gets the answer (the key stays claimed, so a resend is never run twice)."""

    class Failing(IdempotencyStore):
        async def finish(self, slot: Any, entry: Any) -> None:
            raise RuntimeError("the database is busy")

    store = Failing()
    sent: list[dict[str, Any]] = []

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b'{"id": "o1"}'})

    async def client(message: dict[str, Any]) -> None:
        sent.append(message)

    _post_once(answer, store, client)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b'{"id": "o1"}'
    claimed = asyncio.run(store.claim(("acc_a", "k"), "probe"))
    assert claimed is not None
    assert not claimed.done  # in use: a resend is refused, not run again


def test_overlong_idempotency_key_is_400(counting: tuple[TestClient, list[int]]) -> None:
    client, calls = counting
    response = client.post(
        "/effects", json={}, headers={"Idempotency-Key": "k" * 300, "Authorization": "Bearer a"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not calls


# -- group commit ------------------------------------------------------------------------------


def test_orders_arriving_together_share_one_place_orders_call() -> None:
    calls: list[int] = []

    def place_orders(batch: Any) -> list[Any]:
        calls.append(len(batch))
        return [
            InsufficientFundsError("no cash") if request.qty == 13 else f"{account}:{request.qty}"
            for account, request in batch
        ]

    async def scenario() -> list[Any]:
        batcher = OrderBatcher(place_orders)
        batcher.start()
        try:
            requests = [batcher.place("acc", OrderRequest("X", "buy", qty)) for qty in (1, 2, 13, 4)]
            return await asyncio.gather(*requests, return_exceptions=True)
        finally:
            await batcher.stop()

    results = asyncio.run(scenario())
    assert results[:2] == ["acc:1", "acc:2"]
    assert isinstance(results[2], InsufficientFundsError)
    assert results[3] == "acc:4"
    assert calls == [4]  # one transaction for the four


# -- key cache ---------------------------------------------------------------------------------


def test_resolved_keys_are_cached_briefly_so_revocation_takes_effect_within_seconds() -> None:
    clock = FakeClock()
    revoked: set[str] = set()
    lookups: list[str] = []

    def resolve(key: str) -> Principal:
        lookups.append(key)
        if key in revoked:
            raise UnauthorizedError("revoked")
        return Principal("acc_1", frozenset({"trader"}))

    authenticator = Authenticator(resolve, clock=clock)

    async def ask(key: str) -> Principal:
        return await authenticator.principal(key)

    assert asyncio.run(ask("k")).account_id == "acc_1"
    revoked.add("k")
    assert asyncio.run(ask("k")).account_id == "acc_1"  # still cached
    clock.now = CACHE_SECONDS + 0.1
    with pytest.raises(ApiError) as info:
        asyncio.run(ask("k"))
    assert (info.value.status, info.value.code) == (401, "unauthorized")
    assert lookups == ["k", "k"]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer " + "k" * 300])
def test_malformed_authorization_headers_are_401(header: str | None) -> None:
    with pytest.raises(ApiError) as info:
        bearer_key(header)
    assert info.value.status == 401
