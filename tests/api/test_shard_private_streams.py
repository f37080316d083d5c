"""Private state channels across shards, in process: a stream on shard ONE (a test client) follows
the account's ``positions`` and ``balances`` on shard TWO (a real server in a thread, since ONE's
mirror opens a WebSocket to it), so a trade on TWO's book shows on ONE's channels, read from the
database by ONE and numbered on ONE's unbroken ``seq``/``prev_seq`` chain (api.mirror)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import api.stream as stream_module
from tests.api.conftest import _admin_key, make_client, seed_forward, shard_in_thread

pytestmark = pytest.mark.postgres


def _wait(condition: Callable[[], bool], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_trade_on_another_shard_shows_on_positions_and_balances(postgres_url: str) -> None:
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    with (
        shard_in_thread(postgres_url, ("H200",)) as (two_app, two_url),
        make_client(postgres_url, products=("H100",), public_url="http://shard-one.test") as one,
        httpx.Client(base_url=two_url, timeout=30) as two,
    ):
        keys, ids = {}, {}
        for name, role in (("p", "provider"), ("t", "trader")):
            made = one.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
            keys[name] = {"Authorization": f"Bearer {made['api_key']}"}
            ids[name] = made["account"]["id"]
        one.post(f"/v1/accounts/{ids['t']}/deposits", json={"amount": "100000"}, headers=auth)
        seed_forward(one, auth, "H100", keys["p"])
        h200 = seed_forward(two, auth, "H200", keys["p"])
        _wait(lambda: {i["owner"] for i in one.get("/v1/instruments").json()["items"]} >= {two_url})

        with one.websocket_connect("/v1/stream") as stream:
            stream.send_json({"op": "auth", "key": keys["t"]["Authorization"].removeprefix("Bearer ")})
            stream.send_json({"op": "subscribe", "channels": ["positions", "balances"]})
            got: dict[str, list[dict[str, Any]]] = {"positions": [], "balances": []}

            def read_until(done: Callable[[], bool]) -> None:
                while not done():
                    message = stream.receive_json(timeout=20)
                    if message.get("channel") in got:
                        got[message["channel"]].append(message)

            read_until(lambda: all(got.values()))  # both snapshots
            hub = two_app.state.ctx.hub  # TWO follows the trader for ONE's connection
            _wait(
                lambda: (
                    {ids["t"]}
                    <= set(hub.private_listeners("positions")) & set(hub.private_listeners("balances"))
                )
            )
            ask = {"symbol": h200, "side": "sell", "quantity": 2, "price": "2.000"}
            assert two.post("/v1/orders", json=ask, headers=keys["p"]).status_code == 201
            bid = {**ask, "side": "buy"}
            assert two.post("/v1/orders", json=bid, headers=keys["t"]).status_code == 201

            def traded() -> bool:
                return any(
                    p["symbol"] == h200 and p["quantity"] == 2
                    for m in got["positions"]
                    for p in m["positions"]
                )

            # the bid's hold and its fill moved the cash: at least one update after the snapshot
            read_until(lambda: traded() and len(got["balances"]) >= 2)

    for channel, messages in got.items():  # one unbroken chain per channel, starting at the snapshot
        assert messages[0]["type"] == "snapshot", channel
        assert len(messages) >= 2, channel
        assert [m["prev_seq"] for m in messages[1:]] == [m["seq"] for m in messages[:-1]], channel


def test_a_merged_channel_counts_once_towards_the_subscription_cap(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``orders``, ``positions`` and ``balances`` followed here and on the other shard are three
    subscriptions, not six: with a cap of four, a fourth channel is still admitted, a fifth is not."""
    monkeypatch.setattr(stream_module, "MAX_SUBSCRIPTIONS", 4)
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    with (
        shard_in_thread(postgres_url, ("H200",)) as (_, two_url),
        make_client(postgres_url, products=("H100",), public_url="http://shard-one.test") as one,
    ):
        keys = {}
        for name, role in (("p", "provider"), ("t", "trader")):
            made = one.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
            keys[name] = made["api_key"]
        h100 = seed_forward(one, auth, "H100", {"Authorization": f"Bearer {keys['p']}"})
        _wait(lambda: two_url in one.app.state.presence.owners.values())  # a peer: private channels merge
        with one.websocket_connect("/v1/stream") as stream:
            stream.send_json({"op": "auth", "key": keys["t"]})
            private = ["orders", "positions", "balances"]
            stream.send_json({"op": "subscribe", "channels": [*private, f"ticker.{h100}"]})
            stream.send_json({"op": "subscribe", "channels": [f"trades.{h100}"]})
            answers: dict[str, str] = {}
            while len(answers) < 5:
                message = stream.receive_json(timeout=20)
                if message.get("type") == "subscribed":
                    answers.update(dict.fromkeys(message["channels"], "subscribed"))
                elif message.get("type") == "error" and "channel" in message:
                    answers[message["channel"]] = message["code"]
    assert all(answers[c] == "subscribed" for c in private)
    assert answers[f"ticker.{h100}"] == "subscribed"
    assert answers[f"trades.{h100}"] == "invalid_channel"
