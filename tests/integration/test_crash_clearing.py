"""Crash safety of the clearing house: a child process runs re-margining passes (variation margin,
portfolio margin, calls, liquidations through the book, the default fund) on an SQLite file and is
killed with SIGKILL at random instants. After every kill: every acknowledged pass is there, nothing
of a pass is half-applied (one pass instant for every stored requirement; every position untouched by
a trade since is settled exactly to that instant's mark), the invariants hold, the books rebuild, and
a restarted child resumes with the next pass."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from market.db import make_engine
from market.records import OrderRequest
from market.service import Exchange
from market.tables import MarginRequirement, Position, Trade
from market.units import to_epoch_us
from migrations.commands import upgrade
from tests.integration.crash_clearing_child import PRODUCT, T0, instant

CHILD = Path(__file__).with_name("crash_clearing_child.py")
ROOT = Path(__file__).resolve().parents[2]
TRADERS = 30


def _setup(url: str) -> tuple[str, int]:
    """A cash-settled month, thin longs and shorts, and a deep market maker bidding and offering
    around the index so that liquidations find prices inside their bands."""
    engine = make_engine(url)
    exchange = Exchange(engine, clock=lambda: T0)
    exchange.start()
    exchange.create_product(PRODUCT)
    exchange.add_fixings(PRODUCT, [(T0 - timedelta(days=d), 1_500_000) for d in range(1, 31)], "seed")
    [month] = exchange.create_series(PRODUCT, months=1, weeks=0, days=0, settlement="cash")
    exchange.refresh_marks()
    per_lot = exchange.instrument(month.symbol).margin_per_lot_micros
    mm = exchange.create_account("mm", ["trader"]).account.id
    exchange.deposit(mm, 10**14, "mm")
    for t in range(TRADERS):
        trader = exchange.create_account(f"t{t}", ["trader"]).account.id
        lots = 1 + t % 4
        exchange.deposit(trader, lots * per_lot + 20_000_000 * (t % 3), f"t{t}")
        side = "buy" if t % 2 else "sell"
        other = "sell" if side == "buy" else "buy"
        exchange.place_order(mm, OrderRequest(month.symbol, other, lots, price_ticks=1500))
        exchange.place_order(trader, OrderRequest(month.symbol, side, lots, price_ticks=1500))
    for price in range(200, 3000, 20):  # resting liquidity from 0.20 to 3.00
        exchange.place_order(
            mm, OrderRequest(month.symbol, "buy" if price < 1500 else "sell", 20, price_ticks=price)
        )
    exchange.close()
    engine.dispose()
    return month.symbol, (to_epoch_us(month.window_end) - to_epoch_us(month.window_start)) // 3_600_000_000


def _acks(path: Path) -> list[dict]:
    if not path.exists():
        return []
    acks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            acks.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by the kill was never acknowledged
            break
    return acks


def _verify(url: str, symbol: str, gpu_hours: int, acks: list[dict]) -> int:
    """Check the database after a kill; returns the last pass that committed (-1: none)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            instants = {u for (u,) in connection.execute(sa.select(MarginRequirement.updated_us).distinct())}
            positions = connection.execute(sa.select(Position).where(Position.symbol == symbol)).all()
            traded_after = {
                (row.buyer_id, row.seller_id)
                for row in connection.execute(sa.select(Trade.buyer_id, Trade.seller_id, Trade.created_us))
                if instants and row.created_us >= max(instants)
            }
        assert len(instants) <= 1, f"requirements from several passes: {sorted(instants)}"
        last = -1
        if instants:
            (at,) = instants
            last = next(i for i in range(10_000) if to_epoch_us(instant(i)) == at)
            touched = {a for pair in traded_after for a in pair}
            at_pass = Exchange(engine, clock=lambda: instant(last))  # the model's mark the pass used
            mark = at_pass.mark(symbol, greeks=False).forward_micros
            for p in positions:
                if p.account_id not in touched:
                    owed = p.qty * mark * gpu_hours - p.cost_micros - p.variation_micros
                    settled_at = (p.cost_micros + p.variation_micros) / (p.qty * gpu_hours) if p.qty else None
                    assert owed == 0, f"{p.account_id} settled at {settled_at}, not pass {last}'s mark {mark}"
        if acks:
            assert last >= acks[-1]["i"], "an acknowledged pass is missing"
        exchange = Exchange(engine, clock=lambda: T0)
        exchange.start()
        try:
            assert exchange.refused_books == frozenset()
            assert exchange.check() == []
        finally:
            exchange.close()
        return last
    finally:
        engine.dispose()


def _crash_loop(tmp_path: Path, kills: int, seed: int) -> tuple[int, int]:
    url = f"sqlite:///{tmp_path / 'clearing.db'}"
    upgrade(url)
    symbol, gpu_hours = _setup(url)
    ack_path = tmp_path / "acks.jsonl"
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    last = -1
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), url, str(ack_path), str(last + 1)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout.readline().strip() == "READY", child.stderr.read()
        # let one pass commit, then kill at a random instant inside one of the next passes
        started, before = time.monotonic(), len(_acks(ack_path))
        while len(_acks(ack_path)) == before and time.monotonic() - started < 300:
            time.sleep(0.02)
        took = time.monotonic() - started
        time.sleep(rng.uniform(0.0, 1.5 * took))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        errors = child.stderr.read()
        assert "Traceback" not in errors, errors
        last = _verify(url, symbol, gpu_hours, _acks(ack_path))
    liquidated = sum(a["liquidated"] for a in _acks(ack_path))
    return last + 1, liquidated


def test_sigkill_during_remargining_and_liquidation_applies_passes_whole(tmp_path: Path) -> None:
    passes, liquidated = _crash_loop(tmp_path, kills=5, seed=3)
    print(f"{passes} passes committed, {liquidated} lots liquidated across 5 SIGKILLs")
    assert passes >= 5  # the children did real work between kills
    assert liquidated > 0  # some kills landed in passes that liquidate


@pytest.mark.slow
def test_sigkill_clearing_long_run(tmp_path: Path) -> None:
    passes, liquidated = _crash_loop(tmp_path, kills=60, seed=5)
    print(f"{passes} passes committed, {liquidated} lots liquidated across 60 SIGKILLs")
    assert passes > 60
