"""Two real ``flopex serve`` processes on one PostgreSQL: the writer and a standby (api.standby).

The standby answers book requests with 421 ``book_elsewhere`` naming the writer (the client
follows it), relays its WebSocket stream to the writer's, and serves everything else itself. When
the writer is SIGKILLed its advisory lock goes with its session, the relayed stream closes with 1012,
the standby takes the books over and rebuilds them from the database, and every order the writer
acknowledged is there, with the invariants holding (``flopex admin check``).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.client import Client
from tests.api.conftest import API_NOW, _admin_key, next_month_start
from tests.api.live_server import FLOPEX, drain, free_port, serving, until_placed

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ENV = {
    "FLOPEX_CLOCK_START": API_NOW.isoformat(),
    "FLOPEX_LIFECYCLE_SECONDS": "0",
    "FLOPEX_PRICE_WORKERS": "1",
}


def _next(stream: ClientConnection, kind: str) -> dict[str, Any]:
    """The next channel message of type ``kind`` on ``stream`` (heartbeats and acks skipped)."""
    while True:
        message = json.loads(stream.recv(timeout=20))
        if message.get("type") == kind:
            return message


def test_the_standby_redirects_then_takes_the_books_over(postgres_url: str) -> None:
    admin = _admin_key(postgres_url)
    auth = {"Authorization": f"Bearer {admin}"}
    writer_port, standby_port = free_port(), free_port()
    env = {**ENV, "FLOPEX_PUBLIC_URL": f"http://127.0.0.1:{writer_port}"}
    with serving(postgres_url, env=env, port=writer_port) as (writer, process):
        writer.post("/v1/products", json={"id": "H100", "description": "H100"}, headers=auth)
        start = next_month_start(API_NOW).isoformat()
        body = {"type": "forward", "product": "H100", "window": "month", "start": start}
        symbol = writer.post("/v1/instruments", json=body, headers=auth).json()["symbol"]
        keys = {}
        for name, role in (("p", "provider"), ("t", "trader")):
            created = writer.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
            keys[name] = created["api_key"]
        trader_id = writer.get("/v1/me", headers={"Authorization": f"Bearer {keys['t']}"}).json()
        writer.post(
            f"/v1/accounts/{trader_id['account']['id']}/deposits", json={"amount": "1000000"}, headers=auth
        )
        instrument = writer.get(f"/v1/instruments/{symbol}").json()
        listing = {
            "product": "H100",
            "gpus": 50,
            "start": instrument["window_start"],
            "end": instrument["window_end"],
        }
        assert (
            writer.post(
                "/v1/listings", json=listing, headers={"Authorization": f"Bearer {keys['p']}"}
            ).status_code
            == 201
        )

        standby_env = {**ENV, "FLOPEX_PUBLIC_URL": f"http://127.0.0.1:{standby_port}"}
        with serving(postgres_url, "--standby", env=standby_env, port=standby_port) as (standby, _):
            # a book request on the standby: 421 naming the writer, nothing done
            order = {"symbol": symbol, "side": "sell", "quantity": 1, "price": "2.000"}
            raw = standby.post("/v1/orders", json=order, headers={"Authorization": f"Bearer {keys['p']}"})
            assert raw.status_code == 421, raw.text
            assert raw.json()["code"] == "book_elsewhere"
            assert raw.json()["owner"] == f"http://127.0.0.1:{writer_port}"
            acknowledged = []
            stream_url = f"ws://127.0.0.1:{standby_port}/v1/stream"
            with (
                Client(str(standby.base_url), keys["p"]) as seller,
                Client(str(standby.base_url), keys["t"]) as buyer,
                connect(stream_url) as stream,  # relayed to the writer's stream
            ):
                stream.send(json.dumps({"op": "subscribe", "channels": [f"book.{symbol}"]}))
                snapshot = _next(stream, "snapshot")
                for i in range(6):  # the client follows the 421 to the writer
                    acknowledged.append(
                        seller.place(symbol, "sell", 1, price=f"2.{i:03d}", client_order_id=f"s{i}").id
                    )
                acknowledged.append(buyer.place(symbol, "buy", 2, price="2.001", client_order_id="b0").id)
                deltas = [_next(stream, "delta") for _ in range(7)]  # six asks rested, one level hit
                assert [d["prev_seq"] for d in deltas] == [snapshot["seq"]] + [d["seq"] for d in deltas[:-1]]

                process.kill()  # SIGKILL: no clean release, the lock goes with the session
                process.wait()
                with pytest.raises(ConnectionClosed) as closed:
                    drain(stream)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1012  # the books moved: reconnect
                placed, waited = until_placed(
                    seller, 30, symbol=symbol, side="sell", quantity=1, price="2.100", client_order_id="after"
                )
                acknowledged.append(placed)
                kept = {o.id for o in seller.orders()} | {o.id for o in buyer.orders()}
                assert set(acknowledged) <= kept
                fills = list(buyer.fills())
                assert sum(f.quantity for f in fills) == 2  # the trade before the kill survived
            print(f"takeover: book_moving for {waited:.2f} s after SIGKILL")
    check = subprocess.run(
        [str(FLOPEX), "admin", "check", "--db", postgres_url], capture_output=True, text=True, check=False
    )
    assert (check.returncode, check.stdout) == (0, "ok: every invariant holds\n"), check.stderr
