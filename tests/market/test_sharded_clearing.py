"""The clearing pass beside shards (market.clearing.outbox): one elected shard re-margins every
account; each book's liquidation slices are executed by the shard owning the book, exactly once.

Two :class:`Exchange` shards on one PostgreSQL stand for two ``flopex serve --products`` processes
(as in ``tests/market/test_shards.py``). A buyer long 4 lots in each of H100 and H200 loses on a
price drop; the elected shard calls it, and past the deadline writes one instruction per product;
each shard drains its own, one of them through a failure (a restart mid-drain).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from api.cli import main
from market import db
from market.baskets.records import BasketTerms, FlowRequest, LegTerms
from market.clearing import calls, liquidation, outbox
from market.errors import BookElsewhereError, MarketError
from market.lifecycle.duties import elected_duties, shard_duties
from market.lifecycle.runner import Runner
from market.records import OrderRequest
from market.service import Exchange
from market.tables import ClearingInstruction, Liquidation
from tests.market.conftest import START, Clock

USD = 1_000_000
PRODUCTS = ("H100", "H200")
MONTH = {p: f"{p}-2026-12" for p in PRODUCTS}


def order(symbol: str, side: str, qty: int, price: int, **kw: object) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price, **kw)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(postgres_url)
    yield engine
    engine.dispose()


def fix(ex: Exchange, clock: Clock, product: str, price_micros: int) -> None:
    """A sustained move of the index: three prints (marks read a running median of five)."""
    ex.add_fixings(product, [(clock.now - timedelta(minutes=m), price_micros) for m in (2, 1, 0)], "test")


@pytest.fixture
def market(engine: sa.Engine) -> tuple[Clock, dict[str, str]]:
    """Cash-settled H100 and H200 months marked at 1.50 (flat history), a thin buyer, two others."""
    clock = Clock()
    ex = Exchange(engine, clock=clock)
    ex.start()
    try:
        for product in PRODUCTS:
            ex.create_product(product)
            ex.create_series(product, months=2, weeks=0, days=0, settlement="cash")
            history = [(START - timedelta(days=30 - d), 1_500_000) for d in range(30)]
            ex.add_fixings(product, history, "test")
        ex.refresh_marks()
        ids = {n: ex.create_account(n, ["trader"]).account.id for n in ("buyer", "seller", "mm")}
        per_lot = sum(ex.instrument(MONTH[p]).margin_per_lot_micros for p in PRODUCTS)
        ex.deposit(ids["buyer"], 100 * USD + 5 * per_lot, "seed")
        for name in ("seller", "mm"):
            ex.deposit(ids[name], 100_000 * USD, "seed")
    finally:
        ex.close()
    return clock, ids


def shard(engine: sa.Engine, clock: Clock, product: str) -> Exchange:
    ex = Exchange(engine, clock=clock, products=[product])
    ex.start()
    return ex


def instructions(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as connection:
        table = ClearingInstruction.__table__
        return list(connection.execute(sa.select(table).order_by(table.c.id)))


@pytest.mark.postgres
def test_the_elected_shard_calls_and_each_shard_liquidates_its_own_books_once(
    engine: sa.Engine,
    postgres_url: str,
    market: tuple[Clock, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, ids = market
    shards = {p: shard(engine, clock, p) for p in PRODUCTS}
    a, b = shards["H100"], shards["H200"]
    try:
        resting = {}
        for product, ex in shards.items():
            ex.place_order(ids["seller"], order(MONTH[product], "sell", 4, 1500))
            ex.place_order(ids["buyer"], order(MONTH[product], "buy", 4, 1500))
            resting[product] = ex.place_order(ids["buyer"], order(MONTH[product], "buy", 1, 1000)).id
        assert a.elect()
        assert not b.elect()
        with pytest.raises(MarketError) as elsewhere:
            b.remargin()
        assert elsewhere.value.code == "clearing_elsewhere"
        clock.advance(hours=1)
        for product in PRODUCTS:
            fix(a, clock, product, 1_400_000)  # each long loses USD 0.10 x 744 x 4 = 297.60
        report = a.remargin()
        assert report.calls_opened == (ids["buyer"],)  # its margin nets both shards' products
        assert {m.product for m in a.margins(ids["buyer"])} == set(PRODUCTS)
        with pytest.raises(MarketError) as refused:  # the call holds on the other shard too
            b.place_order(ids["buyer"], order(MONTH["H200"], "buy", 1, 1400))
        assert refused.value.code == "margin_call"
        for product, ex in shards.items():  # bids inside the 10% band around 1.40, and one outside
            ex.place_order(ids["mm"], order(MONTH[product], "buy", 1, 1390))
            ex.place_order(ids["mm"], order(MONTH[product], "buy", 3, 1200))
        clock.advance(hours=calls.CALL_HOURS + 1)
        report = a.remargin()
        assert report.liquidated_accounts == (ids["buyer"],)
        assert report.liquidated_lots == 0  # nothing traded by the pass itself: instructions written
        assert [(r.product, r.applied_us) for r in instructions(engine)] == [("H100", None), ("H200", None)]
        h200 = instructions(engine)[1].id  # a drainer that listed it while holding H200, moved since
        monkeypatch.setattr(outbox, "pending", lambda connection, products: [h200])
        assert a.drain_clearing() == []
        monkeypatch.undo()
        assert instructions(engine)[1].applied_us is None  # still pending for H200's holder

        # H200's shard fails mid-drain (after cancelling, before its slice): nothing of it stays
        real = liquidation.send_slices

        def crash(*args: object, **kwargs: object) -> dict[str, int]:
            raise RuntimeError("the shard died mid-drain")

        monkeypatch.setattr(liquidation, "send_slices", crash)
        with pytest.raises(RuntimeError):
            b.drain_clearing()
        monkeypatch.setattr(liquidation, "send_slices", real)
        assert instructions(engine)[1].applied_us is None
        assert b.order(ids["buyer"], resting["H200"]).status == "open"  # its cancel rolled back too
        b.close()
        b = shards["H200"] = shard(engine, clock, "H200")  # the restarted shard drains it, once
        [done] = b.drain_clearing()
        assert (done.product, done.cancelled, done.filled) == ("H200", 1, {MONTH["H200"]: 1})
        assert b.drain_clearing() == []
        assert a.drain_clearing()[0].filled == {MONTH["H100"]: 1}
        assert a.drain_clearing() == []
        assert b.drain_clearing() == []
        every = [r.id for r in instructions(engine)]  # a drainer that read the list before they applied
        monkeypatch.setattr(outbox, "pending", lambda connection, products: every)
        assert b.drain_clearing() == []
        assert a.drain_clearing() == []
        monkeypatch.undo()
        assert all(r.applied_us is not None for r in instructions(engine))
        listed = a.clearing_instructions()
        assert [(i.product, i.outcome) for i in listed] == [
            ("H200", "cancelled 1 order(s), filled 1 lot(s)"),  # newest first
            ("H100", "cancelled 1 order(s), filled 1 lot(s)"),
        ]
        assert b.clearing_instructions(pending=True) == []
        with engine.connect() as connection:
            slices = connection.execute(sa.select(Liquidation.__table__)).all()
        assert sorted((s.symbol, s.qty, s.filled) for s in slices) == [(MONTH[p], 1, 1) for p in PRODUCTS]
        low, high = liquidation.band(1_400_000, 1000)
        fills = [f for f in a.fills(ids["buyer"]) if f.side == "sell"]
        assert sorted(f.price_ticks for f in fills) == [1390, 1390]  # never at 1.20, outside the band
        assert all(low <= f.price_ticks <= high for f in fills)
        for product, ex in shards.items():
            assert ex.order(ids["buyer"], resting[product]).status == "cancelled"
        clock.advance(hours=1)  # the next pass: nothing left inside the band, nothing sold
        a.remargin()
        assert sum(sum(d.filled.values()) for ex in shards.values() for d in ex.drain_clearing()) == 0
        assert a.check() == []
    finally:
        for ex in shards.values():
            ex.close()
    shown = CliRunner().invoke(main, ["risk", "instructions", "--db", postgres_url])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count(": applied ") == len(instructions(engine)) >= 2


@pytest.mark.postgres
def test_the_election_moves_when_the_holder_dies(
    engine: sa.Engine, market: tuple[Clock, dict[str, str]]
) -> None:
    """The holder's session ends (as when its process dies): the other shard's runner takes the
    clearing lock, frees the lease the dead one left on ``remargin`` and runs the pass."""
    clock, _ = market
    a, b = shard(engine, clock, "H100"), shard(engine, clock, "H200")
    try:
        first = Runner(a, engine, duties=shard_duties("a"), elected=elected_duties(), owner="a")
        second = Runner(b, engine, duties=shard_duties("b"), elected=elected_duties(), owner="b")
        assert {"remargin", "deliveries"} <= {r.name for r in first.run_due()}
        assert not {"remargin", "deliveries"} & {r.name for r in second.run_due()}
        clock.advance(hours=1)
        assert first.jobs.claim("remargin", "a", int(clock.now.timestamp() * 1e6))  # dies mid-pass
        session = a._house.locks._connection  # the shard's lock session, which its death ends
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as killer:
            killer.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        for _ in range(50):  # the server ends the session at once; its locks go with it
            if b.elect():
                break
            time.sleep(0.1)
        ran = {r.name: r for r in second.run_due()}
        assert ran["remargin"].ok, ran
        assert ran["deliveries"].ok, ran  # the elected shard's duties, under the same job rows
        with engine.connect() as connection:
            assert outbox.pending(connection, None) == []  # no call was due: nothing to liquidate
    finally:
        b.close()
        with contextlib.suppress(sa.exc.DBAPIError):  # its session was ended under it
            a.close()


@pytest.mark.postgres
def test_a_basket_across_shards_is_refused_with_its_own_code(
    engine: sa.Engine, market: tuple[Clock, dict[str, str]]
) -> None:
    """A fund's cash flows trade every leg fill-or-kill in one transaction: across shards' books
    that cannot be done, so the definition is refused (not ``not_found``, not a 421 to nowhere). A
    fund of one shard's products is created and redeemed there (421 elsewhere), and its NAV published
    by that shard's lifecycle."""
    clock, ids = market
    a, b = shard(engine, clock, "H100"), shard(engine, clock, "H200")
    try:
        legs = tuple(LegTerms(MONTH[p], 1) for p in PRODUCTS)
        with pytest.raises(MarketError) as refused:
            a.create_basket(BasketTerms("GPUX", "both", legs))
        assert (refused.value.code, refused.value.status) == ("basket_across_shards", 409)
        assert refused.value.field == "legs[1].symbol"
        fund = a.create_basket(BasketTerms("HX", "H100 only", legs[:1]))  # one shard's books: as before
        assert fund.symbol == "HX"
        a.authorise_participant("HX", ids["mm"])
        a.place_order(ids["seller"], order(MONTH["H100"], "sell", 3, 1510))
        with pytest.raises(BookElsewhereError) as moved:  # the API's 421 naming H100's shard
            b.basket_flow(ids["mm"], "HX", FlowRequest("create", "cash", 2))
        assert moved.value.product == "H100"
        created = a.basket_flow(ids["mm"], "HX", FlowRequest("create", "cash", 2))
        assert created.units == 2
        assert {p.symbol: p.qty for p in a.positions(ids["mm"])} == {"HX": 2}
        assert {p.symbol: p.qty for p in a.positions(fund.fund_id)} == {MONTH["H100"]: 2, "HX": -2}
        runners = {x: Runner(x, engine, duties=shard_duties(t), owner=t) for x, t in ((a, "a"), (b, "b"))}
        ran = {x: {r.name: r for r in runner.run_due()} for x, runner in runners.items()}
        assert ran[a]["baskets@a"].detail == "1 NAV(s) published, 0 fund(s) wound up"  # its shard's duty
        assert ran[b]["baskets@b"].detail == "0 NAV(s) published, 0 fund(s) wound up"
        assert [n.symbol for n in a.basket_navs("HX")] == ["HX"]
        assert a.check() == []
    finally:
        a.close()
        b.close()
