"""The process the crash test kills: a seeded order stream against a file database.

Usage: ``python crash_child.py DB_URL ACK_FILE FIRST_INDEX``. It starts the exchange (recovering the
books), prints ``READY``, then places orders ``FIRST_INDEX, FIRST_INDEX + 1, ...`` -- alone or in
groups of up to four in one transaction -- and cancels some. After each acknowledgement it appends
the acknowledged state to ACK_FILE and fsyncs it: whatever is in that file was acknowledged to a
client, so the parent can demand it survives a SIGKILL at any instant.
"""

from __future__ import annotations

import json
import os
import random
import sys

from api.settings import Settings
from market.db import make_engine
from market.records import OrderInfo, OrderRequest
from market.service import Exchange

PROVIDER, BUYER = "crash-provider", "crash-buyer"


def request(index: int, symbol: str) -> tuple[str, OrderRequest]:
    """The ``index``-th order of the stream: the same every time it is asked for."""
    rng = random.Random(index)
    side = "sell" if rng.random() < 0.5 else "buy"
    return side, OrderRequest(
        symbol=symbol,
        side=side,
        qty=rng.randint(1, 3),
        price_ticks=1500 + rng.randint(-5, 5),
        client_order_id=f"c{index}",
        tif="ioc" if rng.random() < 0.2 else "gtc",
    )


def main(url: str, ack_path: str, first: int) -> None:
    engine = make_engine(url)
    exchange = Exchange(engine, Settings.from_env().clock())  # FLOPEX_CLOCK_START: the test's instant
    exchange.start()
    accounts = {a.name: a.id for a in exchange.accounts()}
    symbol = os.environ["CRASH_SYMBOL"]
    print("READY", flush=True)
    with open(ack_path, "a", encoding="utf-8") as acks:

        def ack(index: int, order: OrderInfo) -> None:
            trades = [f.trade_id for f in order.fills]
            acks.write(
                json.dumps({"i": index, "id": order.id, "cid": order.client_order_id, "trades": trades})
                + "\n"
            )
            acks.flush()
            os.fsync(acks.fileno())

        index = first
        rng = random.Random(first)
        while True:
            group = rng.choice([1, 1, 2, 4])
            batch = []
            for i in range(index, index + group):
                side, req = request(i, symbol)
                batch.append((accounts[PROVIDER] if side == "sell" else accounts[BUYER], req))
            results = exchange.place_orders(batch)
            for i, result in zip(range(index, index + group), results, strict=True):
                if isinstance(result, Exception):
                    raise result
                ack(i, result)
                if result.status in ("open", "partially_filled") and rng.random() < 0.3:
                    exchange.cancel_order(result.account_id, result.id)
            index += group


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
