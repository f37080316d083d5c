"""Crash safety: a child process runs a seeded order stream against an SQLite file and is killed
with SIGKILL at random instants. After every kill, every acknowledged order is present with its
trades, nothing is half-written (the invariants hold and the books rebuild from the command log
exactly), and a restarted child carries on where the acknowledgements stop (resending an order
that committed but was never acknowledged returns the stored one, by ``client_order_id``)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from market.db import make_engine
from market.service import Exchange

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


T0 = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
"""The exchange clock of the setup; the child's starts there too (``FLOPEX_CLOCK_START``)."""


def _setup(url: str) -> str:
    engine = make_engine(url)
    exchange = Exchange(engine, clock=lambda: T0)
    exchange.start()
    exchange.create_product("H100")
    symbol = exchange.create_series("H100", months=1, weeks=0, days=0)[0]
    provider = exchange.create_account("crash-provider", ["provider"]).account.id
    buyer = exchange.create_account("crash-buyer", ["trader"]).account.id
    exchange.create_listing(provider, "H100", 1_000_000, symbol.window_start, symbol.window_end)
    exchange.deposit(buyer, 10**15, "seed")
    exchange.close()
    engine.dispose()
    return symbol.symbol


def _acks(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    acks = []
    for line in lines:
        try:
            acks.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by the kill was never acknowledged
            break
    return acks


def _verify(url: str, acks: list[dict]) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            orders = dict(connection.execute(sa.text("SELECT id, client_order_id FROM orders")).all())
            trades = {t for (t,) in connection.execute(sa.text("SELECT id FROM trades"))}
        for ack in acks:
            assert orders.get(ack["id"]) == ack["cid"], f"acknowledged order {ack['cid']} lost"
            assert set(ack["trades"]) <= trades, f"trades of acknowledged order {ack['cid']} lost"
        exchange = Exchange(engine, clock=lambda: T0)
        exchange.start()  # replays the command log and compares it with the stored rows
        try:
            assert exchange.refused_books == frozenset()
            assert exchange.check() == []
        finally:
            exchange.close()
    finally:
        engine.dispose()


def _crash_loop(tmp_path: Path, kills: int, seed: int) -> int:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    from migrations.commands import upgrade

    upgrade(url)
    symbol = _setup(url)
    ack_path = tmp_path / "acks.jsonl"
    rng = random.Random(seed)
    env = {
        **os.environ,
        "CRASH_SYMBOL": symbol,
        "PYTHONPATH": str(ROOT),
        "FLOPEX_CLOCK_START": T0.isoformat(),
    }
    for _ in range(kills):
        acks = _acks(ack_path)
        first = acks[-1]["i"] + 1 if acks else 0
        child = subprocess.Popen(
            [sys.executable, str(CHILD), url, str(ack_path), str(first)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout.readline().strip() == "READY", child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        errors = child.stderr.read()
        assert "Traceback" not in errors, errors
        _verify(url, _acks(ack_path))
    return len(_acks(ack_path))


def test_sigkill_never_loses_an_acknowledged_order(tmp_path: Path) -> None:
    acknowledged = _crash_loop(tmp_path, kills=20, seed=7)
    print(f"{acknowledged} orders acknowledged across 20 SIGKILLs")
    assert acknowledged > 20  # the children did real work between kills


@pytest.mark.slow
def test_sigkill_long_run(tmp_path: Path) -> None:
    acknowledged = _crash_loop(tmp_path, kills=150, seed=11)
    print(f"{acknowledged} orders acknowledged across 150 SIGKILLs")
    assert acknowledged > 150
