"""Two real ``flopex serve --products`` processes on one PostgreSQL, each holding one product's books.

A client on one shard places orders on both products (it follows the 421 to the other shard), a
stream on that shard carries both books (the other's mirrored from its own stream, ``seq``/``prev_seq``
unbroken per book; the buyer's ``orders`` merged from both into one chain), then the other shard is
SIGKILLed: the mirrored channel closes with 1012, the
survivor adopts the dead shard's books once their lock frees, rebuilding them from their own command
log, and every acknowledged order is there, with ``flopex admin check`` holding.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.client import Client
from tests.api.conftest import API_NOW, _admin_key, open_provider_and_trader, seed_forward
from tests.api.live_server import FLOPEX, drain, serving_shard, until_placed

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ENV = {
    "FLOPEX_CLOCK_START": API_NOW.isoformat(),
    "FLOPEX_LIFECYCLE_SECONDS": "0",
    "FLOPEX_PRICE_WORKERS": "1",
}


def _next(stream: ClientConnection, channel: str, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` on ``channel`` (others skipped)."""
    while True:
        message = json.loads(stream.recv(timeout=20))
        if message.get("channel") == channel and message.get("type") == kind:
            return message


def _collect(stream: ClientConnection, enough: Any) -> dict[str, list[dict[str, Any]]]:
    """Channel messages by channel (acks and heartbeats skipped) until ``enough(collected)``."""
    collected: dict[str, list[dict[str, Any]]] = {}
    while not enough(collected):
        message = json.loads(stream.recv(timeout=20))
        if "channel" in message and "seq" in message:
            collected.setdefault(message["channel"], []).append(message)
    return collected


def test_two_shards_serve_both_books_and_one_takes_over_the_other(postgres_url: str) -> None:
    admin = _admin_key(postgres_url)
    auth = {"Authorization": f"Bearer {admin}"}
    with (
        serving_shard(postgres_url, "H100", ENV) as (one, _, first),
        serving_shard(postgres_url, "H200", ENV) as (two, doomed, second),
    ):
        urls = [first, second]
        keys = open_provider_and_trader(one, auth)
        provider = {"Authorization": f"Bearer {keys['p']}"}
        h100, h200 = seed_forward(one, auth, "H100", provider), seed_forward(two, auth, "H200", provider)
        deadline = time.monotonic() + 15  # each learns the other's books at its next heartbeat
        while {i["owner"] for i in one.get("/v1/instruments").json()["items"]} != set(urls):
            assert time.monotonic() < deadline
            time.sleep(0.2)

        acknowledged = []
        with (
            Client(urls[0], keys["p"]) as seller,
            Client(urls[0], keys["t"]) as buyer,
            connect(urls[0].replace("http", "ws") + "/v1/stream") as stream,
        ):
            channels = [f"book.{h100}", f"book.{h200}"]
            stream.send(json.dumps({"op": "auth", "key": keys["t"]}))
            stream.send(json.dumps({"op": "subscribe", "channels": [*channels, "orders"]}))
            snapshots = {c: _next(stream, c, "snapshot") for c in channels}
            for symbol in (h100, h200):  # H200's orders follow the 421 to the other shard
                for i in range(3):
                    ask = seller.place(symbol, "sell", 1, price=f"2.{i:03d}", client_order_id=f"s{symbol}{i}")
                    acknowledged.append(ask.id)
                bid = buyer.place(symbol, "buy", 1, price="2.000", client_order_id=f"b{symbol}")
                acknowledged.append(bid.id)

            def enough(got: dict[str, list[dict[str, Any]]]) -> bool:
                symbols = {m["order"]["symbol"] for m in got.get("orders", []) if m["type"] == "order"}
                return symbols == {h100, h200} and all(len(got.get(c, [])) >= 4 for c in channels)

            got = _collect(stream, enough)
            for channel in channels:  # three asks rested, one level hit: unbroken per book
                deltas = got[channel][:4]
                chain = [snapshots[channel]["seq"]] + [d["seq"] for d in deltas[:-1]]
                assert [d["prev_seq"] for d in deltas] == chain
            # the buyer's orders on both shards, merged into one chain by the shard it listens to
            merged = got["orders"]
            assert [m["prev_seq"] for m in merged[1:]] == [m["seq"] for m in merged[:-1]]

            doomed.kill()  # SIGKILL: no clean release, its locks go with its session
            doomed.wait()
            with pytest.raises(ConnectionClosed) as closed:
                drain(stream)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1012  # the mirrored shard went away: reconnect
            placed, waited = until_placed(
                seller, 30, symbol=h200, side="sell", quantity=1, price="2.100", client_order_id="after"
            )
            acknowledged.append(placed)
            kept = {o.id for o in seller.orders()} | {o.id for o in buyer.orders()}
            assert set(acknowledged) <= kept
            assert sum(f.quantity for f in buyer.fills()) == 2  # both trades before the kill survived
            owners = {i["symbol"]: i["owner"] for i in one.get("/v1/instruments").json()["items"]}
            assert owners == {h100: urls[0], h200: urls[0]}
        print(f"takeover: book_moving for {waited:.2f} s after SIGKILL")
    check = subprocess.run(
        [str(FLOPEX), "admin", "check", "--db", postgres_url], capture_output=True, text=True, check=False
    )
    assert (check.returncode, check.stdout) == (0, "ok: every invariant holds\n"), check.stderr
