"""Two API applications over one PostgreSQL share idempotency records, rate-limit buckets and key
revocations (api.shared_state): what one process stored, refused or revoked, the other sees."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from api.auth import REVOCATION_POLL_SECONDS
from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, make_client
from tests.conftest import _fresh_postgres

pytestmark = pytest.mark.postgres


WRITER, STANDBY = "http://writer.test", "http://standby.test"

Pair = tuple[TestClient[Litestar], TestClient[Litestar], str]


def _admin(url: str, name: str) -> str:
    """The key of a new admin account ``name`` (each test its own: its own rate-limit bucket)."""
    engine = db.make_engine(url)
    try:
        return Exchange(engine, clock=lambda: API_NOW).create_account(name, ["admin"]).api_key
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def pair(_postgres_template: sa.URL) -> Iterator[Pair]:
    """Two applications on one fresh database, the writer and a standby (a rate limit of 6 requests,
    refilled at 0.01 a second); the third item is the database's URL."""
    for url in _fresh_postgres(_postgres_template.set(database="postgres"), _postgres_template.database):
        with (
            make_client(url, rate_limit=0.01, rate_burst=6, public_url=WRITER) as one,
            make_client(url, rate_limit=0.01, rate_burst=6, standby=True, public_url=STANDBY) as two,
        ):
            yield one, two, url


def test_a_key_answered_by_one_process_is_replayed_by_the_other(pair: Pair) -> None:
    one, two, url = pair
    admin = _admin(url, "ops-idempotency")
    auth = {"Authorization": f"Bearer {admin}"}
    created = one.post("/v1/accounts", json={"name": "t", "roles": ["trader"]}, headers=auth).json()
    path = f"/v1/accounts/{created['account']['id']}/deposits"
    headers = {**auth, "Idempotency-Key": "dep-1"}
    first = one.post(path, json={"amount": "100"}, headers=headers)
    again = two.post(path, json={"amount": "100"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    clash = two.post(path, json={"amount": "5"}, headers=headers)
    assert (clash.status_code, clash.json()["code"]) == (409, "idempotency_key_reused")
    me = one.get("/v1/me", headers={"Authorization": f"Bearer {created['api_key']}"}).json()
    assert me["balances"]["cash"] == "100.000000"  # deposited once


def test_a_client_spends_one_budget_across_processes(pair: Pair) -> None:
    one, two, url = pair
    admin = _admin(url, "ops-rate")
    auth = {"Authorization": f"Bearer {admin}"}
    answers = [client.get("/v1/me/keys", headers=auth) for client in (one, two) * 3 + (one,)]
    assert [r.status_code for r in answers] == [200] * 6 + [429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert answers[5].headers["ratelimit"] == '"requests";r=0;t=600'  # 6 spent, at 0.01 a second


def test_a_key_revoked_on_one_process_stops_on_the_other(pair: Pair) -> None:
    one, two, url = pair
    admin = _admin(url, "ops-revoke")
    auth = {"Authorization": f"Bearer {admin}"}
    key = one.post("/v1/me/keys", json={}, headers=auth).json()
    mine = {"Authorization": f"Bearer {key['api_key']}"}
    assert two.get("/v1/me/keys", headers=mine).status_code == 200  # cached by the second process
    assert one.delete(f"/v1/me/keys/{key['key']['prefix']}", headers=auth).status_code == 204
    time.sleep(REVOCATION_POLL_SECONDS)
    refused = two.get("/v1/me/keys", headers=mine)
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")


def test_every_process_names_the_writer_as_the_books_owner(pair: Pair) -> None:
    one, two, url = pair
    auth = {"Authorization": f"Bearer {_admin(url, 'ops-owner')}"}
    assert (
        one.post("/v1/products", json={"id": "H100", "description": "H100"}, headers=auth).status_code == 201
    )
    body = {"type": "forward", "product": "H100", "window": "month", "start": "2027-04-01T00:00:00Z"}
    symbol = one.post("/v1/instruments", json=body, headers=auth).json()["symbol"]
    assert one.get(f"/v1/instruments/{symbol}").json()["owner"] == WRITER
    deadline = time.monotonic() + 10  # the standby reads the registry at its next heartbeat
    while two.get("/v1/instruments").json()["items"][0]["owner"] != WRITER:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    order = {"symbol": symbol, "side": "buy", "quantity": 1, "price": "1.000"}
    elsewhere = two.post("/v1/orders", json=order, headers=auth)
    assert (elsewhere.status_code, elsewhere.json()["owner"]) == (421, WRITER)
