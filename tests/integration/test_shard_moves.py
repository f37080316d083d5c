"""Two real ``flopex serve --products`` processes on one PostgreSQL: a planned move under load, and the
private state channels across them.

Shard ONE holds H100 and H200, shard TWO holds A100. A stream on TWO follows the trader's
``positions`` and ``balances``: trades on ONE's H200 book show there, on unbroken chains. While a
client thread keeps placing H200 orders through ONE (following 421s, waiting out 503 book_moving),
``flopex admin move-book H200 --to TWO`` hands the book over: every acknowledged order is on TWO,
the last ones placed there, and ``flopex admin check`` holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from typing import Any

import pytest
from websockets.sync.client import connect

from api.client import Client, FlopexError
from tests.api.conftest import API_NOW, _admin_key, open_provider_and_trader, seed_forward
from tests.api.live_server import CHECKOUT, FLOPEX, serving_shard

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ENV = {
    "FLOPEX_CLOCK_START": API_NOW.isoformat(),
    "FLOPEX_LIFECYCLE_SECONDS": "0",
    "FLOPEX_PRICE_WORKERS": "1",
}


def _keep_placing(bidder: Client, symbol: str, stop: threading.Event, acknowledged: list[str]) -> None:
    """Place resting bids one after another until ``stop``; waits out ``book_moving`` like a client."""
    i = 0
    while not stop.is_set():
        try:
            placed = bidder.place(symbol, "buy", 1, price=f"1.{i % 900:03d}", client_order_id=f"k{i}")
        except FlopexError as exc:
            if exc.code not in ("book_moving", "database_busy"):
                acknowledged.append(f"failed: {exc}")  # the test fails on it
                return
            time.sleep(0.1)
            continue
        acknowledged.append(placed.id)
        i += 1


def test_a_move_under_load_keeps_every_order_and_private_channels_follow_trades(postgres_url: str) -> None:
    admin = _admin_key(postgres_url)
    auth = {"Authorization": f"Bearer {admin}"}
    with (
        serving_shard(postgres_url, "H100,H200", ENV) as (one, _, first),
        serving_shard(postgres_url, "A100", ENV) as (two, _, second),
    ):
        urls = [first, second]
        keys = open_provider_and_trader(one, auth)
        h200 = seed_forward(one, auth, "H200", {"Authorization": f"Bearer {keys['p']}"})
        deadline = time.monotonic() + 15  # each learns the other at its next heartbeat
        while {i["owner"] for i in two.get("/v1/instruments").json()["items"]} != {urls[0]}:
            assert time.monotonic() < deadline
            time.sleep(0.2)

        got: dict[str, list[dict[str, Any]]] = {"positions": [], "balances": []}
        with (
            Client(urls[0], keys["p"]) as seller,
            Client(urls[0], keys["t"]) as bidder,
            Client(urls[1], keys["t"]) as buyer,  # on TWO: H200's orders follow the 421 to ONE
            connect(urls[1].replace("http", "ws") + "/v1/stream") as stream,
        ):
            stream.send(json.dumps({"op": "auth", "key": keys["t"]}))
            stream.send(json.dumps({"op": "subscribe", "channels": ["positions", "balances"]}))

            def read_until(done: Any) -> None:
                while not done():
                    message = json.loads(stream.recv(timeout=20))
                    if message.get("channel") in got:
                        got[message["channel"]].append(message)

            read_until(lambda: all(got.values()))
            time.sleep(1.5)  # ONE registers the stream's upstream subscriptions
            for i in range(2):
                seller.place(h200, "sell", 1, price="2.000", client_order_id=f"s{i}")
                buyer.place(h200, "buy", 1, price="2.000", client_order_id=f"b{i}")

            def bought(lots: int) -> bool:
                return any(
                    p["symbol"] == h200 and p["quantity"] == lots
                    for m in got["positions"]
                    for p in m["positions"]
                )

            read_until(lambda: bought(2))

            acknowledged: list[str] = []
            stop = threading.Event()
            placing = threading.Thread(target=_keep_placing, args=(bidder, h200, stop, acknowledged))
            placing.start()
            time.sleep(1.0)
            started = time.monotonic()
            moved = subprocess.run(
                [
                    str(FLOPEX),
                    "admin",
                    "move-book",
                    "H200",
                    "--to",
                    urls[1],
                    "--url",
                    urls[0],
                    "--api-key",
                    admin,
                ],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONPATH": str(CHECKOUT)},
            )
            took = time.monotonic() - started
            time.sleep(1.5)
            stop.set()
            placing.join()
            assert moved.returncode == 0, moved.stderr
            assert moved.stdout == f"H200: now held by {urls[1]}\n"
            with Client(urls[1], keys["t"]) as on_two:
                kept = {o.id for o in on_two.orders()}
            assert acknowledged
            assert set(acknowledged) <= kept  # also: no "failed: ..." entry
            owners = {i["symbol"]: i["owner"] for i in one.get("/v1/instruments").json()["items"]}
            assert owners[h200] == urls[1]
            seller.place(h200, "sell", 1, price="1.000", client_order_id="after")  # hits a bid, on TWO now
            read_until(lambda: bought(3))
        print(f"move under load: {took:.2f} s for the CLI, {len(acknowledged)} orders placed meanwhile")
    for channel, messages in got.items():
        assert [m["prev_seq"] for m in messages[1:]] == [m["seq"] for m in messages[:-1]], channel
    check = subprocess.run(
        [str(FLOPEX), "admin", "check", "--db", postgres_url],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT)},
    )
    assert (check.returncode, check.stdout) == (0, "ok: every invariant holds\n"), check.stderr
