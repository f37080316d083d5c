"""A planned move of a product's books between two live shards, in process on PostgreSQL: shard ONE
(a test client) holds H100 and H200, shard TWO (a real server in a thread: ONE asks it to adopt over
HTTP) holds A100. ``POST /v1/admin/products/H200/move`` on ONE hands H200 to TWO: every acknowledged
order is on TWO's rebuilt book, ONE answers ``421`` naming TWO, and the invariants hold. Then
``flopex admin move-book`` between two servers in threads, refused for a target that is no shard."""

from __future__ import annotations

import time

import httpx
import pytest
from click.testing import CliRunner
from litestar.exceptions import WebSocketDisconnect

from api.cli import main
from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, _admin_key, make_client, seed_forward, shard_in_thread

pytestmark = pytest.mark.postgres


def test_a_product_moves_to_another_live_shard_with_every_acknowledged_order(postgres_url: str) -> None:
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    with (
        shard_in_thread(postgres_url, ("A100",)) as (two_app, two_url),
        make_client(postgres_url, products=("H100", "H200"), public_url="http://one.test") as one,
        httpx.Client(base_url=two_url, timeout=60) as two,
    ):
        keys = {}
        for name, role in (("p", "provider"), ("t", "trader")):
            made = one.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
            keys[name] = {"Authorization": f"Bearer {made['api_key']}"}
            if name == "t":
                deposit = {"amount": "100000"}
                one.post(f"/v1/accounts/{made['account']['id']}/deposits", json=deposit, headers=auth)
        h200 = seed_forward(one, auth, "H200", keys["p"])
        acknowledged = []
        for i in range(3):
            ask = {"symbol": h200, "side": "sell", "quantity": 1, "price": f"3.{i:03d}"}
            placed = one.post("/v1/orders", json=ask, headers=keys["p"])
            assert placed.status_code == 201, placed.text
            acknowledged.append(placed.json()["id"])
        bid = {"symbol": h200, "side": "buy", "quantity": 1, "price": "3.000"}
        assert one.post("/v1/orders", json=bid, headers=keys["t"]).status_code == 201  # takes the first

        presence, peer = one.app.state.presence, two_app.state.presence
        deadline = time.monotonic() + 15  # each knows the other at its next heartbeat
        while two_url not in presence.owners.values() or peer.owners.get("H200") != "http://one.test":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        nowhere = one.post("/v1/admin/products/H200/move", json={"to": "http://nowhere.test"}, headers=auth)
        assert nowhere.status_code == 409
        assert nowhere.json()["code"] == "book_move_refused"
        elsewhere = two.post("/v1/admin/products/H200/move", json={"to": two_url}, headers=auth)
        assert elsewhere.status_code == 421, elsewhere.text

        with one.websocket_connect("/v1/stream") as stream:  # H200's book, numbered by ONE so far
            stream.send_json({"op": "subscribe", "channels": [f"book.{h200}"]})
            assert stream.receive_json()["type"] == "subscribed"
            assert stream.receive_json()["type"] == "snapshot"
            started = time.monotonic()
            moved = one.post("/v1/admin/products/H200/move", json={"to": two_url}, headers=auth)
            took = time.monotonic() - started
            with pytest.raises(WebSocketDisconnect) as closed:
                stream.receive_json(timeout=10)
            assert closed.value.code == 1012  # reconnect: TWO numbers H200's book from now on
        assert moved.status_code == 200, moved.text
        assert moved.json() == {"product": "H200", "owner": two_url}

        deadline = time.monotonic() + 5  # 503 book_moving until ONE reads TWO's claim (a beat at most)
        while (
            misdirected := one.post("/v1/orders", json={**bid, "price": "2.000"}, headers=keys["t"])
        ).status_code == 503:
            assert misdirected.json()["code"] == "book_moving"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert misdirected.status_code == 421
        assert misdirected.json()["owner"] == two_url
        book = two.get(f"/v1/instruments/{h200}/book").json()  # rebuilt from its partition's log
        assert [level[0] for level in book["asks"]] == ["3.001", "3.002"]
        live = {
            o["id"]
            for o in two.get("/v1/orders", params={"status": "open"}, headers=keys["p"]).json()["items"]
        }
        assert set(acknowledged[1:]) <= live
        taken = two.post("/v1/orders", json={**bid, "price": "3.001"}, headers=keys["t"])
        assert taken.status_code == 201, taken.text
        assert taken.json()["status"] == "filled"  # the moved book trades on TWO
        owners = {i["symbol"]: i["owner"] for i in two.get("/v1/instruments").json()["items"]}
        assert owners[h200] == two_url
        assert one.get("/health").json()["products"] == ["H100"]
    print(f"move of H200: {took:.2f} s")
    engine = db.make_engine(postgres_url)
    try:
        assert Exchange(engine, clock=lambda: API_NOW).check() == []
    finally:
        engine.dispose()


def test_flopex_admin_move_book_moves_a_product_between_real_servers(postgres_url: str) -> None:
    admin = _admin_key(postgres_url)
    with (
        shard_in_thread(postgres_url, ("H100",)) as (one_app, one_url),
        shard_in_thread(postgres_url, ("A100",)) as (_, two_url),
    ):
        deadline = time.monotonic() + 15
        while two_url not in one_app.state.presence.owners.values():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        runner = CliRunner()
        common = ["--url", one_url, "--api-key", admin]
        refused = runner.invoke(main, ["admin", "move-book", "H100", "--to", "http://nowhere.test", *common])
        assert refused.exit_code == 1
        assert "book_move_refused" in refused.output
        moved = runner.invoke(main, ["admin", "move-book", "H100", "--to", two_url, *common])
        assert moved.exit_code == 0, moved.output
        assert moved.output == f"H100: now held by {two_url}\n"
        with httpx.Client(base_url=two_url) as two:
            assert two.get("/health").json()["products"] == ["A100", "H100"]
