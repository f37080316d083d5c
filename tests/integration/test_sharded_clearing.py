"""The clearing pass beside two real ``flopex serve --products`` processes on one PostgreSQL.

The market is seeded in-process by two shards (H100, H200) five hours of exchange time before the
servers' clock: a buyer long 4 lots on each product falls under margin on a drop to 1.40 and is
called (deadline four hours later); bids rest at 1.39 (inside the band) and 1.20 (outside). The two
servers start past the deadline with their lifecycles running every second: one wins the clearing
election and writes a liquidation instruction per product, and each server's own duty loop executes
its product's, selling 1 lot at 1.39 in each book. Then the elected server is SIGKILLed and the
survivor takes the election (its admin pass turns from ``409 clearing_elsewhere`` to 200), and
``check`` holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from market import db
from market.records import OrderRequest
from market.service import Exchange
from tests.api.conftest import API_NOW, _admin_key
from tests.api.live_server import serving_shard
from tests.market.conftest import Clock

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

USD = 1_000_000
PRODUCTS = ("H100", "H200")
ENV = {
    "FLOPEX_CLOCK_START": API_NOW.isoformat(),
    "FLOPEX_LIFECYCLE_SECONDS": "1",
    "FLOPEX_PRICE_WORKERS": "1",
}


def order(symbol: str, side: str, qty: int, price: int) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price)


def _seed(url: str) -> dict[str, str]:
    """The called buyer and the bids, on two in-process shards; the month symbol per product."""
    engine = db.make_engine(url)
    clock = Clock(API_NOW - timedelta(hours=5))
    single = Exchange(engine, clock=clock)
    single.start()
    for product in PRODUCTS:
        single.create_product(product)
        single.create_series(product, months=2, weeks=0, days=0, settlement="cash")
        history = [(clock.now - timedelta(days=30 - d), 1_500_000) for d in range(30)]
        single.add_fixings(product, history, "test")
    single.refresh_marks()
    month = {
        p: min(single.instruments(product=p, kind="forward"), key=lambda i: i.window_start).symbol
        for p in PRODUCTS
    }
    ids = {n: single.create_account(n, ["trader"]).account.id for n in ("buyer", "seller", "mm")}
    per_lot = sum(single.instrument(month[p]).margin_per_lot_micros for p in PRODUCTS)
    single.deposit(ids["buyer"], 100 * USD + 5 * per_lot, "seed")
    for name in ("seller", "mm"):
        single.deposit(ids[name], 100_000 * USD, "seed")
    single.close()
    shards = {p: Exchange(engine, clock=clock, products=[p]) for p in PRODUCTS}
    try:
        for product, ex in shards.items():
            ex.start()
            ex.place_order(ids["seller"], order(month[product], "sell", 4, 1500))
            ex.place_order(ids["buyer"], order(month[product], "buy", 4, 1500))
        clock.advance(hours=1)
        for product in PRODUCTS:
            prints = [(clock.now - timedelta(minutes=m), 1_400_000) for m in (2, 1, 0)]
            shards["H100"].add_fixings(product, prints, "test")
        assert shards["H100"].remargin().calls_opened == (ids["buyer"],)
        for product, ex in shards.items():
            ex.place_order(ids["mm"], order(month[product], "buy", 1, 1390))
            ex.place_order(ids["mm"], order(month[product], "buy", 3, 1200))
    finally:
        for ex in shards.values():
            ex.close()
        engine.dispose()
    return month


def _until(predicate: Callable[[], object], within: float) -> object:
    deadline = time.monotonic() + within
    while not (found := predicate()):
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.3)
    return found


def test_two_servers_clear_one_elected_each_liquidating_its_own_books(postgres_url: str) -> None:
    month = _seed(postgres_url)
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    with (
        serving_shard(postgres_url, "H100", ENV) as (one, first, _),
        serving_shard(postgres_url, "H200", ENV) as (two, second, _),
    ):

        def applied() -> list[dict] | None:
            found = one.get("/v1/admin/clearing-instructions", headers=auth).json()
            return found if len(found) >= 2 and all(i["status"] == "applied" for i in found) else None

        started = time.monotonic()
        done = _until(applied, 60)
        waited = time.monotonic() - started
        assert sorted(i["product"] for i in done[-2:]) == ["H100", "H200"], done  # type: ignore[index]
        assert all(i["outcome"] == "cancelled 0 order(s), filled 1 lot(s)" for i in done[-2:]), done  # type: ignore[index]
        answers = [c.post("/v1/admin/remargin", headers=auth) for c in (one, two)]
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        elected = 0 if answers[0].status_code == 200 else 1
        loser = answers[1 - elected]
        assert loser.json()["code"] == "clearing_elsewhere"
        survivor = (one, two)[1 - elected]
        dead = (first, second)[elected]
        dead.kill()  # SIGKILL: its clearing lock goes with its session
        dead.wait()
        killed = time.monotonic()

        def takes_over() -> httpx.Response | None:
            answer = survivor.post("/v1/admin/remargin", headers=auth)
            return answer if answer.status_code == 200 else None

        _until(takes_over, 30)
        moved = time.monotonic() - killed
    engine = db.make_engine(postgres_url)
    try:
        ex = Exchange(engine, clock=lambda: API_NOW + timedelta(minutes=5))
        sold = [f for f in ex.fills(ex.margin_calls()[0].account_id) if f.side == "sell"]
        assert sorted((f.symbol, f.price_ticks) for f in sold) == sorted((month[p], 1390) for p in PRODUCTS)
        assert ex.check() == []
    finally:
        engine.dispose()
    print(f"instructions applied {waited:.1f} s after start; election moved {moved:.1f} s after the kill")
