"""The process the clearing crash test kills: re-margining passes (with liquidations) on a file database.

Usage: ``python crash_clearing_child.py DB_URL ACK_FILE FIRST_PASS``. Pass ``i`` runs at
``T0 + 3 (i + 1)`` hours (a call's 4-hour deadline passes two passes later): it adds that instant's
index fixing (a seeded random walk with jumps, so accounts are called, liquidated and default), runs
one re-margining pass and appends ``{"i": i, ...}`` to ACK_FILE (fsynced) once the pass has
committed. The parent kills it with SIGKILL at random instants.
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import UTC, datetime, timedelta

from market.db import make_engine
from market.service import Exchange

T0 = datetime(2026, 11, 2, tzinfo=UTC)
PRODUCT = "A100"


def fixing(i: int) -> int:
    """Pass ``i``'s index fixing in micro-dollars: the same every time it is asked for."""
    price = 1_500_000
    for k in range(i + 1):
        rng = random.Random(k)
        price = max(round(price * (1 + rng.choice([-0.12, -0.04, -0.02, 0.0, 0.02, 0.04, 0.1]))), 200_000)
    return price


def instant(i: int) -> datetime:
    return T0 + timedelta(hours=3 * (i + 1))


def main(url: str, ack_path: str, first: int) -> None:
    engine = make_engine(url)
    clock = {"now": instant(first)}
    exchange = Exchange(engine, clock=lambda: clock["now"])
    exchange.start()
    print("READY", flush=True)
    with open(ack_path, "a", encoding="utf-8") as acks:
        i = first
        while True:
            clock["now"] = instant(i)
            exchange.add_fixings(PRODUCT, [(clock["now"], fixing(i))], source="crash")
            report = exchange.remargin()
            acks.write(json.dumps({"i": i, "liquidated": report.liquidated_lots}) + "\n")
            acks.flush()
            os.fsync(acks.fileno())
            i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
