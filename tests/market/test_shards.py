"""Books split by product across shards on one PostgreSQL (market.partitions, House(products=...)).

Two :class:`Exchange` instances over one database stand for two ``flopex serve --products``
processes: each holds its products' books in partitions of their own (own ``seq``, own clock ticks,
own command log), refuses the other's books with ``book_elsewhere`` naming the product, and takes
them over when the other goes (its locks freed), replaying only their partition.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from market import db
from market.errors import (
    BookElsewhereError,
    BookUnavailableError,
    DatabaseBusyError,
    MarketError,
    OpenOrderLimitError,
)
from market.lifecycle.duties import SHARD_DUTIES, shard_duties
from market.lifecycle.runner import Runner
from market.lifecycle.schedule import SeriesPlan
from market.partitions import ALL, PartitionedEngine
from market.records import OrderInfo, OrderRequest
from market.service import Exchange
from market.tables import Command
from tests.market.conftest import DECEMBER, JANUARY, Clock

H100, H200 = "H100-2026-12", "H200-2026-12"


def order(symbol: str, side: str, qty: int, price: int, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price, **kw)


def test_a_partitioned_engine_with_one_partition_is_the_engine() -> None:
    one, split = PartitionedEngine(), PartitionedEngine(holds_all=False)
    for symbol, product in ((H100, "H100"), (H200, "H200")):
        one.add_instrument(symbol)
        split.add_instrument(symbol, product)
    new = {"op": "new", "side": "sell", "type": "limit", "qty": 1, "price": 5, "tif": "gtc", "account": "a"}
    seqs = {}
    for engine in (one, split):
        seqs[engine] = [engine.apply({**new, "symbol": s, "id": f"{s}-1"})[-1]["seq"] for s in (H100, H200)]
    assert seqs[one] == [2, 4]  # one sequence across both books (accepted, resting per order)
    assert seqs[split] == [2, 2]  # each product counts its own
    assert split.partitions() == ["H100", "H200"]
    assert one.partition_of({"op": "time", "now": 1}) == ALL
    assert split.partition_of({"op": "time", "now": 1, "partition": "H200"}) == "H200"
    assert split.apply({"op": "time", "now": 1, "partition": "H200"}) == []  # no key left for the engine


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def setup(engine: sa.Engine) -> dict[str, str]:
    """Products H100 and H200 with a December forward each, a provider listing both, a funded buyer."""
    clock = Clock()
    ex = Exchange(engine, clock=clock)
    ex.start()
    try:
        ids = {}
        for product in ("H100", "H200"):
            ex.create_product(product, product)
            ex.create_forward(product, "month", DECEMBER)
        ids["provider"] = ex.create_account("provider", ["provider"]).account.id
        ids["buyer"] = ex.create_account("buyer", ["trader"]).account.id
        for product in ("H100", "H200"):
            ex.create_listing(ids["provider"], product, 10, DECEMBER, JANUARY)
        ex.deposit(ids["buyer"], 100_000_000_000, "seed")
    finally:
        ex.close()
    return ids


@pytest.mark.postgres
def test_the_single_writer_logs_as_before_and_keeps_its_products(
    engine: sa.Engine, setup: dict[str, str]
) -> None:
    clock = Clock()
    single = Exchange(engine, clock=clock)
    single.start()
    try:
        expire = clock.now + timedelta(minutes=5)
        single.place_order(setup["provider"], order(H100, "sell", 1, 2500, tif="gtd", expire_at=expire))
        clock.advance(minutes=10)
        single.place_order(setup["buyer"], order(H100, "buy", 1, 1000))  # rests: a live order in '*'
    finally:
        single.close()
    commands = Command.__table__
    with engine.connect() as connection:
        logged = connection.execute(sa.select(commands.c.partition, commands.c.command)).all()
    assert {p for p, _ in logged} == {ALL}
    assert any(c == f'{{"now":{int(clock.now.timestamp() * 10**6)},"op":"time"}}' for _, c in logged)
    with pytest.raises(BookUnavailableError, match="live orders rest on H100"):
        Exchange(engine, clock=clock, products=["H100"]).start()  # its order is in the '*' log
    shard = Exchange(engine, clock=clock, products=["H200"])  # nothing live there: it splits off
    shard.start()
    try:
        with pytest.raises(BookUnavailableError, match="live orders rest on H100"):
            shard.adopt("H100")
        assert not shard.holds("H100")
        with pytest.raises(BookUnavailableError, match="live orders rest on H100"):  # not "held"
            Exchange(engine, clock=clock, products=["H100"]).start()  # the failed adoption let go
    finally:
        shard.close()


@pytest.mark.postgres
def test_two_shards_trade_apart_refuse_each_other_and_take_over(
    engine: sa.Engine, setup: dict[str, str]
) -> None:
    clock = Clock()
    a, b = Exchange(engine, clock=clock, products=["H100"]), Exchange(engine, clock=clock, products=["H200"])
    a.start()
    b.start()
    try:
        with pytest.raises(BookUnavailableError):  # one owner per product
            Exchange(engine, clock=clock, products=["H100"]).start()
        with pytest.raises(BookUnavailableError):  # no single writer beside shards
            Exchange(engine, clock=clock).start()
        provider, buyer = setup["provider"], setup["buyer"]
        expire = clock.now + timedelta(minutes=5)
        for ex, symbol in ((a, H100), (b, H200)):
            ex.place_order(provider, order(symbol, "sell", 2, 2000, client_order_id=f"s-{symbol}"))
            ex.place_order(provider, order(symbol, "sell", 1, 2500, tif="gtd", expire_at=expire))
            ex.place_order(buyer, order(symbol, "buy", 1, 2000, client_order_id=f"b-{symbol}"))
        with pytest.raises(BookElsewhereError) as elsewhere:
            a.place_order(buyer, order(H200, "buy", 1, 2000))
        assert elsewhere.value.product == "H200"
        resting = next(o for o in b.orders(provider) if o.symbol == H200 and o.status != "expired")
        with pytest.raises(BookElsewhereError):
            a.cancel_order(provider, resting.id)
        assert a.book(H100).seq == b.book(H200).seq  # each partition numbers its own events
        clock.advance(minutes=10)  # the GTD orders expire, each by its own partition's tick
        for ex, symbol in ((a, H100), (b, H200)):
            ex.place_order(buyer, order(symbol, "buy", 1, 1000))
        gtd = [o for o in a.orders(provider) if o.tif == "gtd"]
        assert sorted((o.symbol, o.status) for o in gtd) == [(H100, "expired"), (H200, "expired")]
        commands = Command.__table__
        with engine.connect() as connection:
            logged = connection.execute(sa.select(commands.c.partition, commands.c.command)).all()
        assert {p for p, _ in logged} == {"H100", "H200"}
        ticks = sorted(c for p, c in logged if '"op":"time"' in c)
        assert [('"partition":"H100"' in t, '"partition":"H200"' in t) for t in ticks] == [
            (True, False),
            (False, True),
        ] * (len(ticks) // 2)
        b.close()  # the shard of H200 goes: its locks are free
        a.adopt("H200")
        assert a.holds("H200")
        assert a.book(H200).asks[0].visible == 1  # rebuilt from H200's own log
        a.place_order(buyer, order(H200, "buy", 1, 2000, client_order_id="after"))
        states = {o.client_order_id: o.status for o in a.orders(buyer)}
        filled = {"b-H100-2026-12": "filled", "b-H200-2026-12": "filled", "after": "filled"}
        assert states == {**filled, None: "open"}
        assert a.check() == []
    finally:
        a.close()
        b.close()
    single = Exchange(engine, clock=clock)  # every shard gone: a single writer replays every partition
    single.start()
    try:
        assert single.refused_books == frozenset()
        assert {o.status for o in single.orders(setup["buyer"])} == {"filled", "open"}
    finally:
        single.close()


@pytest.mark.postgres
def test_each_shard_runs_the_duties_of_its_own_books(engine: sa.Engine) -> None:
    """Two shards' lifecycles: each lists its product's series and settles its own expiries, under
    job rows of its own; neither touches the other's books."""
    clock = Clock()
    single = Exchange(engine, clock=clock)
    single.start()
    for product in ("H100", "H200"):
        single.create_product(product, product)
        single.set_product_schedule(product, SeriesPlan(months=1, weeks=0, days=2, strikes=0))
    single.close()
    a, b = Exchange(engine, clock=clock, products=["H100"]), Exchange(engine, clock=clock, products=["H200"])
    a.start()
    b.start()
    try:
        first = Runner(a, engine, duties=shard_duties("a"))
        second = Runner(b, engine, duties=shard_duties("b"))
        ran = first.run_due()
        own = [*SHARD_DUTIES[:-2], "clearing_orders", *SHARD_DUTIES[-2:]]  # drains after the marks
        assert [r.name for r in ran] == [f"{d}@a" for d in own]
        assert all(r.ok for r in ran), ran
        listed = {i.product for i in a.instruments()}
        assert listed == {"H100"}  # the other shard's product waits for its own runner
        assert all(r.ok for r in second.run_due())
        days = {i.symbol: i for i in a.instruments(kind="forward") if i.window_kind == "day"}
        assert {"H100-2026-11-25", "H200-2026-11-25"} <= set(days)
        clock.advance(days=1)  # the 25 November forwards' trading ends
        assert all(r.ok for r in first.run_due())
        status = {i.symbol: i.status for i in a.instruments(kind="forward")}
        assert (status["H100-2026-11-25"], status["H200-2026-11-25"]) == ("settled", "open")
        assert all(r.ok for r in second.run_due())
        assert a.instrument("H200-2026-11-25").status == "settled"
        jobs = {j.name for j in first.status()}
        assert {f"settle@{tag}" for tag in "ab"} <= jobs
        assert "settle" not in jobs
        assert a.check() == []
    finally:
        a.close()
        b.close()


def _race(shards: list[Exchange], account_id: str, price: int) -> dict[str, OrderInfo | MarketError]:
    """Each shard places a sell of ``account_id`` in its book at the same instant; the outcomes."""
    barrier = threading.Barrier(len(shards))
    outcomes: dict[str, OrderInfo | MarketError] = {}

    def place(shard: Exchange, symbol: str) -> None:
        barrier.wait()
        try:
            outcomes[symbol] = shard.place_order(account_id, order(symbol, "sell", 1, price))
        except (OpenOrderLimitError, DatabaseBusyError) as exc:
            outcomes[symbol] = exc

    threads = [threading.Thread(target=place, args=pair) for pair in zip(shards, (H100, H200), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_racing_shards_admit_one_last_order(engine: sa.Engine, setup: dict[str, str]) -> None:
    """A cap of one open order: two shards place one each at the same instant, ten times over; every
    time exactly one is admitted (the account's ledger row orders them, market.limits)."""
    clock = Clock()
    shards = [Exchange(engine, clock=clock, products=[p], max_open_orders=1) for p in ("H100", "H200")]
    for shard in shards:
        shard.start()
    try:
        for round_ in range(10):
            outcomes = _race(shards, setup["provider"], 3000 + round_)
            admitted = {sym: o for sym, o in outcomes.items() if isinstance(o, OrderInfo)}
            assert len(admitted) == 1, outcomes
            ((symbol, placed),) = admitted.items()
            shards[symbol == H200].cancel_order(setup["provider"], placed.id)
    finally:
        for shard in shards:
            shard.close()
