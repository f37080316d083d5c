"""Private state channels across shards, in process: a stream on shard ONE (a test client) follows
the account's ``positions`` and ``balances`` on shard TWO (a real server in a thread, since ONE's
mirror opens a WebSocket to it), so a trade on TWO's book shows on ONE's channels, read from the
database by ONE and numbered on ONE's unbroken ``seq``/``prev_seq`` chain (api.mirror)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import Clock, _admin_key, make_client, seed_forward
from tests.api.live_server import free_port

pytestmark = pytest.mark.postgres


def _wait(condition: Callable[[], bool], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def serve_in_thread(app: Litestar, port: int) -> Iterator[None]:
    """Serve ``app`` on loopback ``port`` from a thread until the generator is closed."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_trade_on_another_shard_shows_on_positions_and_balances(postgres_url: str) -> None:
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    port = free_port()
    two_url = f"http://127.0.0.1:{port}"
    settings = {"rate_limit": 0.0, "lifecycle_seconds": 0.0}
    two_app = create_app(
        Settings(database_url=postgres_url, products=("H200",), public_url=two_url, **settings), clock=Clock()
    )
    served = serve_in_thread(two_app, port)
    next(served)
    try:
        with (
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
    finally:
        served.close()

    for channel, messages in got.items():  # one unbroken chain per channel, starting at the snapshot
        assert messages[0]["type"] == "snapshot", channel
        assert len(messages) >= 2, channel
        assert [m["prev_seq"] for m in messages[1:]] == [m["seq"] for m in messages[:-1]], channel
