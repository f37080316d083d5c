"""Aggregate order throughput of two exchange shards against one writer, on one PostgreSQL.

Each round places the same order stream twice: two client threads (one per product) against ONE
process holding every book (the single writer: its books share one lock, one engine and one
command log), then one client thread in each of TWO shard processes (``Exchange(products=...)``, as
``flopex serve --products``), each holding one product's books. An order is a resting limit buy:
validated, its cash held, run through the engine, logged and committed (durably) before the next.
The aggregate rate is all orders over the wall time from the first order to the last; the figure is
the ratio two shards / one writer, over rounds that alternate the two, in the same run. Only the
ratio is asserted (a floor well under 1: the shared 2-core machine cannot promise the second
core); absolute rates on a shared machine say little. The load average is printed with it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from market import db
from market.records import OrderRequest
from market.service import Exchange

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # processes start and rebuild: about a minute

ORDERS = 150  # per product per phase
ROUNDS = 2
FLOOR = 0.6
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)


Flow = tuple[str, str, int]
"""A client thread's orders: ``(account, symbol, first price in ticks)``."""


def _worker(url: str, products: list[str] | None, flows: list[Flow], barrier: Any, out: Any) -> None:
    """Hold ``products``' books (None: every book), wait for the others, then place each flow's
    ``(account, symbol, first price)`` orders from a thread of its own; send ``(start, end)``."""
    engine = db.make_engine(url)
    ex = Exchange(engine, clock=lambda: NOW, products=products)
    ex.start()
    try:
        spans: list[tuple[float, float]] = []

        def place(account: str, symbol: str, first: int) -> None:
            start = time.perf_counter()
            for i in range(ORDERS):
                ex.place_order(account, OrderRequest(symbol=symbol, side="buy", qty=1, price_ticks=first + i))
            spans.append((start, time.perf_counter()))

        barrier.wait()
        threads = [threading.Thread(target=place, args=flow) for flow in flows]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for span in spans:
            out.put(span)
    finally:
        ex.close()
        engine.dispose()


def _phase(url: str, groups: list[tuple[list[str] | None, list[Flow]]]) -> float:
    """Run one process per group at once; the aggregate orders per second of all their flows."""
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(len(groups)), context.Queue()
    workers = [context.Process(target=_worker, args=(url, p, f, barrier, out)) for p, f in groups]
    for worker in workers:
        worker.start()
    flows = sum(len(f) for _, f in groups)
    spans = [out.get(timeout=300) for _ in range(flows)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return flows * ORDERS / (max(e for _, e in spans) - min(s for s, _ in spans))


def test_two_shards_against_one_writer(postgres_url: str, benchmark: Any) -> None:
    engine = db.make_engine(postgres_url)
    ex = Exchange(engine, clock=lambda: NOW)
    ex.start()
    products = ["P1", "P2", "Q1", "Q2"]  # P: the single writer's (one partition), Q: the shards'
    symbols, buyers = {}, {}
    for product in products:
        ex.create_product(product, product)
        symbols[product] = ex.create_forward(product, "month", DECEMBER).symbol
        buyers[product] = ex.create_account(f"buyer-{product}", ["trader"]).account.id
        ex.deposit(buyers[product], 10**15, f"seed-{product}")
    ex.close()
    engine.dispose()
    rates: dict[str, list[float]] = {"one": [], "two": []}
    load = [os.getloadavg()[0]]

    def run() -> None:
        for r in range(ROUNDS):
            first = 1000 + r * ORDERS  # each round's bids at new prices
            one = [(buyers[p], symbols[p], first) for p in ("P1", "P2")]
            rates["one"].append(_phase(postgres_url, [(None, one)]))
            two = [([p], [(buyers[p], symbols[p], first)]) for p in ("Q1", "Q2")]
            rates["two"].append(_phase(postgres_url, two))
            load.append(os.getloadavg()[0])

    benchmark.pedantic(run, rounds=1, iterations=1)
    ratio = sum(rates["two"]) / sum(rates["one"])
    figures = {
        "orders_per_product_per_phase": ORDERS,
        "rounds": ROUNDS,
        "one_writer_orders_per_s": [round(x) for x in rates["one"]],
        "two_shards_orders_per_s": [round(x) for x in rates["two"]],
        "ratio_two_shards_over_one": round(ratio, 3),
        "load_average_1min": [round(x, 1) for x in load],
        "cores": os.cpu_count(),
    }
    benchmark.extra_info.update(figures)
    print("\nshards:", figures)
    assert ratio >= FLOOR, figures
