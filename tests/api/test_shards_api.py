"""Two shards over one PostgreSQL, in process: each holds one product's books (``products``), names
the holder of every book in ``GET /v1/instruments``, answers a request for the other's book with
``421 book_elsewhere`` naming it, and shares idempotency records with it (api.shared_state)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, make_client, next_month_start
from tests.conftest import _fresh_postgres

pytestmark = pytest.mark.postgres

ONE, TWO = "http://shard-one.test", "http://shard-two.test"


@pytest.fixture(scope="module")
def shards(_postgres_template: sa.URL) -> Iterator[tuple[TestClient[Litestar], TestClient[Litestar], dict]]:
    """Shard ONE holds H100, shard TWO holds H200; a forward of each, a provider listing both, a
    funded trader; the third item holds the symbols and keys."""
    for url in _fresh_postgres(_postgres_template.set(database="postgres"), _postgres_template.database):
        engine = db.make_engine(url)
        try:
            ex = Exchange(engine, clock=lambda: API_NOW)
            admin = ex.create_account("ops", ["admin"]).api_key
        finally:
            engine.dispose()
        auth = {"Authorization": f"Bearer {admin}"}
        with (
            make_client(url, products=("H100",), public_url=ONE) as one,
            make_client(url, products=("H200",), public_url=TWO) as two,
        ):
            start = next_month_start(API_NOW).isoformat()
            seeded: dict = {"auth": auth}
            for shard, product in ((one, "H100"), (two, "H200")):
                shard.post("/v1/products", json={"id": product, "description": product}, headers=auth)
                body = {"type": "forward", "product": product, "window": "month", "start": start}
                made = shard.post("/v1/instruments", json=body, headers=auth)
                assert made.status_code == 201, made.text
                seeded[product] = made.json()
            for name, role in (("p", "provider"), ("t", "trader")):
                created = one.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
                seeded[name] = {"Authorization": f"Bearer {created['api_key']}"}
                seeded[f"{name}_id"] = created["account"]["id"]
            one.post(f"/v1/accounts/{seeded['t_id']}/deposits", json={"amount": "1000000"}, headers=auth)
            for shard, product in ((one, "H100"), (two, "H200")):
                inst = seeded[product]
                listing = {
                    "product": product,
                    "gpus": 20,
                    "start": inst["window_start"],
                    "end": inst["window_end"],
                }
                assert shard.post("/v1/listings", json=listing, headers=seeded["p"]).status_code == 201
            yield one, two, seeded


def _owners(client: TestClient[Litestar]) -> dict[str, str | None]:
    return {i["symbol"]: i["owner"] for i in client.get("/v1/instruments").json()["items"]}


def test_each_shard_names_the_holder_of_every_book(shards: tuple) -> None:
    one, two, seeded = shards
    assert [c.get("/health").json()["products"] for c in (one, two)] == [["H100"], ["H200"]]
    expected = {seeded["H100"]["symbol"]: ONE, seeded["H200"]["symbol"]: TWO}
    deadline = time.monotonic() + 10  # each reads the other's books at its next heartbeat
    while not _owners(one) == _owners(two) == expected:
        assert time.monotonic() < deadline, (_owners(one), _owners(two))
        time.sleep(0.2)


def test_a_request_for_the_other_shards_book_is_421_naming_it(shards: tuple) -> None:
    one, two, seeded = shards
    test_each_shard_names_the_holder_of_every_book(shards)
    h200 = seeded["H200"]["symbol"]
    order = {"symbol": h200, "side": "sell", "quantity": 1, "price": "3.000"}
    misdirected = one.post("/v1/orders", json=order, headers=seeded["p"])
    assert misdirected.status_code == 421, misdirected.text
    assert (misdirected.json()["code"], misdirected.json()["owner"]) == ("book_elsewhere", TWO)
    placed = two.post("/v1/orders", json=order, headers=seeded["p"])
    assert placed.status_code == 201, placed.text
    cancel = one.delete(f"/v1/orders/{placed.json()['id']}", headers=seeded["p"])
    assert (cancel.status_code, cancel.json()["owner"]) == (421, TWO)
    assert one.get(f"/v1/instruments/{h200}/trades").status_code == 200  # reads: any process
    product = {"type": "forward", "product": "H200", "window": "month", "start": "2027-06-01T00:00:00Z"}
    listed = one.post("/v1/instruments", json=product, headers=seeded["auth"])
    assert (listed.status_code, listed.json()["owner"]) == (421, TWO)  # a new H200 book is TWO's


def test_an_order_sent_twice_with_one_key_runs_once_across_shards(shards: tuple) -> None:
    one, two, seeded = shards
    test_each_shard_names_the_holder_of_every_book(shards)  # each knows the other (own xdist worker)
    h100 = seeded["H100"]["symbol"]
    order = {"symbol": h100, "side": "buy", "quantity": 1, "price": "1.500"}
    headers = {**seeded["t"], "Idempotency-Key": "buy-once"}
    first = one.post("/v1/orders", json=order, headers=headers)
    again = two.post("/v1/orders", json=order, headers=headers)  # the stored answer, not a 421
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    live = one.get("/v1/orders", params={"symbol": h100}, headers=seeded["t"]).json()["items"]
    assert [o["id"] for o in live] == [first.json()["id"]]
    # a 421 is no outcome: the same request with the same key, sent on to the holder, runs there
    h200 = seeded["H200"]["symbol"]
    follow = {**seeded["t"], "Idempotency-Key": "sent-to-the-wrong-shard"}
    order = {"symbol": h200, "side": "buy", "quantity": 1, "price": "1.500"}
    assert one.post("/v1/orders", json=order, headers=follow).status_code == 421
    placed = two.post("/v1/orders", json=order, headers=follow)
    assert (placed.status_code, placed.headers.get("idempotent-replayed")) == (201, None)


def test_pools_are_serviced_by_the_elected_shard_only(shards: tuple) -> None:
    """Pool servicing is an elected duty beside shards: the shard holding the clearing lock services
    (nothing is due here), the other answers 409 clearing_elsewhere and does nothing."""
    one, two, seeded = shards
    answers = [c.post("/v1/admin/pools/service", headers=seeded["auth"]) for c in (one, two)]
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    served = next(a for a in answers if a.status_code == 200).json()
    assert served["serviced"] == []
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["code"] == "clearing_elsewhere"
