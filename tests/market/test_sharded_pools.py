"""Pool servicing beside shards (market.securitization.servicing, market.clearing.outbox): the elected
shard runs a pool's waterfall and pays its holders; the shard holding the notes' book revises and
retires them there, exactly once, through a restart mid-drain.

A single writer forms the pool on PostgreSQL (H100 capacity: its notes are H100 instruments), sells
notes to a buyer and sees December delivered; then two shards start, A100's (elected) and H100's
(the notes' book), as two ``flopex serve --products`` processes would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from api.cli import main
from market import db
from market.clearing import outbox
from market.errors import BookElsewhereError, MarketError
from market.service import Exchange
from market.tables import ClearingInstruction
from tests.market.conftest import DECEMBER, JANUARY, PHYSICAL, Clock, Market
from tests.market.test_pools import FEBRUARY, USD, check_pool, deliver, order, terms

A, B = "GPUABS1-A", "GPUABS1-B"


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(postgres_url)
    yield engine
    engine.dispose()


def shard(engine: sa.Engine, clock: Clock, product: str) -> Exchange:
    ex = Exchange(engine, clock=clock, products=[product])
    ex.start()
    return ex


def pending(engine: sa.Engine) -> list[tuple[str, str | None, int | None]]:
    table = ClearingInstruction.__table__
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).where(table.c.applied_us.is_(None)).order_by(table.c.id))
        return [(r.kind, r.symbol, r.face_micros) for r in rows]


@pytest.fixture
def pooled(engine: sa.Engine) -> tuple[Market, int]:
    """The pool of tests/market/test_pools.py, formed and traded by a single writer: the buyer holds
    15 of A's 40 lots, the seller 5 of B's 20; December is delivered; the single writer stops."""
    clock = Clock()
    ex = Exchange(engine, clock=clock)
    ex.start()
    try:
        ex.create_product("H100", "H100 SXM 80 GB")
        ex.create_product("A100", "A100 80 GB")
        ex.create_series("H100", months=2, weeks=0, days=0)
        ex.create_series("A100", months=2, weeks=0, days=0, settlement="cash")
        ids = [
            ex.create_account(n, [r]).account.id
            for n, r in [("p", "provider"), ("b", "trader"), ("s", "trader")]
        ]
        provider, buyer, seller = ids
        first = ex.create_listing(provider, "H100", 10, DECEMBER, JANUARY).id
        second = ex.create_listing(provider, "H100", 8, DECEMBER, FEBRUARY).id
        for account in ids:
            ex.deposit(account, 100_000 * USD, f"seed-{account}")
        ex.place_order(provider, order(PHYSICAL, "sell", 5, 2000))
        ex.place_order(buyer, order(PHYSICAL, "buy", 5, 2000))
        pool_id = ex.create_pool(provider, terms((first, second))).id
        ex.place_order(provider, order(A, "sell", 15, 9950))
        ex.place_order(buyer, order(A, "buy", 15, 9950))
        ex.place_order(provider, order(B, "sell", 5, 9700))
        ex.place_order(seller, order(B, "buy", 5, 9700))
        market = Market(ex, clock, provider, buyer, seller)
        deliver(market)
        ex.report_pool_usage(provider, pool_id, 0, 2_000)
    finally:
        ex.close()
    return market, pool_id


@pytest.mark.postgres
def test_the_elected_shard_services_and_the_notes_shard_revises_them_once(
    engine: sa.Engine, postgres_url: str, pooled: tuple[Market, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    market, pool_id = pooled
    clock = market.clock
    elected, notes = shard(engine, clock, "A100"), shard(engine, clock, "H100")
    try:
        assert elected.elect()
        assert not notes.elect()
        clock.now = JANUARY + timedelta(minutes=5)
        elected.add_fixings("H100", [(DECEMBER + timedelta(days=d), 2_500_000) for d in range(31)])
        with pytest.raises(MarketError) as elsewhere:  # only the elected shard services
            notes.service_pools()
        assert elsewhere.value.code == "clearing_elsewhere"
        buyer_before = elected.balances(market.buyer).available
        assert elected.service_pools().serviced == (("GPUABS1", 0),)
        assert elected.service_pools().serviced == ()  # the period is recorded once
        report = elected.pool_report(pool_id)
        paid = {p.account_id: p for p in report.payments if p.symbol == A}
        assert {a: p.lots for a, p in paid.items()} == {market.buyer: 15, market.provider: 25}
        to_buyer = paid[market.buyer].interest_micros + paid[market.buyer].principal_micros
        assert elected.balances(market.buyer).available - buyer_before == to_buyer  # a ledger transfer
        principal = paid[market.buyer].principal_micros // 15
        assert principal > 0
        face = 100 * USD - principal
        assert (A, face) in [(s, f) for _, s, f in pending(engine)]  # not yet in the notes' book
        assert notes._house.books().instrument(A).face_micros == 100 * USD  # the book has not heard yet
        assert elected.instrument(A).face_micros == face  # its row has, in the servicing's transaction
        seller_before = elected.balances(market.seller).available
        notes.place_order(market.buyer, order(A, "sell", 1, 10000))  # at par: per 100 of the new face
        notes.place_order(market.seller, order(A, "buy", 1, 10000))
        assert seller_before - elected.balances(market.seller).available == face  # not the old 100
        applied = notes.drain_clearing()
        assert {(d.kind, d.symbol) for d in applied} >= {("note_face", A)}
        assert notes.instrument(A).face_micros == face  # the book's instrument and its row
        assert elected.instrument(A).face_micros == face
        assert notes.drain_clearing() == []
        assert pending(engine) == []
        check_pool(elected, pool_id)

        clock.now = JANUARY + timedelta(days=1, minutes=5)
        elected.run_deliveries()
        clock.now = FEBRUARY + timedelta(minutes=5)
        elected.report_pool_usage(market.provider, pool_id, 1, 2_000)
        elected.add_fixings("H100", [(JANUARY + timedelta(days=d), 2_000_000) for d in range(31)])
        resting = notes.place_order(market.buyer, order(A, "sell", 3, 10100))
        done = elected.service_pools(pool_id)
        assert done.serviced == (("GPUABS1", 1),)
        assert done.retired == (A, B)
        with pytest.raises(MarketError, match="does not trade"):  # retired in its row: refused at once
            notes.place_order(market.seller, order(B, "buy", 1, 9000))
        assert [(k, s) for k, s, _ in pending(engine)] == [
            ("note_face", A),
            ("note_retire", A),
            ("note_face", B),
            ("note_retire", B),
        ]

        def crash(*args: object, **kwargs: object) -> int:
            raise RuntimeError("the shard died mid-drain")

        monkeypatch.setattr(outbox.notes, "retire", crash)  # A's face applies, its retirement fails
        with pytest.raises(RuntimeError):
            notes.drain_clearing()
        monkeypatch.undo()
        assert [(k, s) for k, s, _ in pending(engine)] == [
            ("note_retire", A),
            ("note_face", B),
            ("note_retire", B),
        ]
        assert notes.order(market.buyer, resting.id).status == "open"  # its cancel rolled back
        notes.close()
        notes = shard(engine, clock, "H100")  # the restarted shard drains the rest, once
        applied = notes.drain_clearing()
        assert [(d.kind, d.symbol, d.cancelled) for d in applied] == [
            ("note_retire", A, 1),
            ("note_face", B, 0),
            ("note_retire", B, 0),
        ]
        assert notes.drain_clearing() == []
        table = ClearingInstruction.__table__
        with engine.connect() as connection:
            every = list(connection.execute(sa.select(table.c.id)).scalars())
        monkeypatch.setattr(outbox, "pending", lambda connection, products: every)  # a stale list
        assert notes.drain_clearing() == []
        monkeypatch.undo()
        closed = notes.order(market.buyer, resting.id)
        assert (closed.status, closed.reason) == ("cancelled", "note_retired")
        for symbol in (A, B):
            assert notes.instrument(symbol).status == "settled"
            assert notes.instrument(symbol).face_micros == 0
        final = elected.pool_report(pool_id)
        assert final.pool.status == "retired"
        assert final.pool.cash_micros == 0
        assert [p.principal_micros for p in final.periods] == [3_000 * USD, 3_000 * USD]
        with pytest.raises(MarketError, match="does not trade"):
            notes.place_order(market.buyer, order(B, "buy", 1, 5000))
        check_pool(elected, pool_id)
        check_pool(notes, pool_id)
    finally:
        elected.close()
        with contextlib.suppress(sa.exc.DBAPIError):
            notes.close()
    shown = CliRunner().invoke(main, ["risk", "instructions", "--db", postgres_url])
    assert shown.exit_code == 0, shown.output
    assert f"note_retire {A} in H100" in shown.output
    assert shown.output.count(": applied ") == 5  # A's face twice, B's once, two retirements


@pytest.mark.postgres
def test_an_older_face_instruction_never_writes_its_face_back(
    engine: sa.Engine, pooled: tuple[Market, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two periods serviced before the notes' shard drains: applying the first period's ``note_face``
    leaves the row at the newest face (the book revised to it), never back at the first period's."""
    market, pool_id = pooled
    clock = market.clock
    elected, notes = shard(engine, clock, "A100"), shard(engine, clock, "H100")
    try:
        assert elected.elect()
        clock.now = JANUARY + timedelta(minutes=5)
        elected.add_fixings("H100", [(DECEMBER + timedelta(days=d), 2_500_000) for d in range(31)])
        assert elected.service_pools().serviced == (("GPUABS1", 0),)
        clock.now = JANUARY + timedelta(days=1, minutes=5)
        elected.run_deliveries()
        clock.now = FEBRUARY + timedelta(minutes=5)
        elected.report_pool_usage(market.provider, pool_id, 1, 2_000)
        elected.add_fixings("H100", [(JANUARY + timedelta(days=d), 2_000_000) for d in range(31)])
        assert elected.service_pools(pool_id).serviced == (("GPUABS1", 1),)
        faces = [
            (r.id, r.face_micros) for r in _instructions(engine) if r.kind == "note_face" and r.symbol == A
        ]
        (first, older), (_, newest) = faces
        assert older != newest
        monkeypatch.setattr(outbox, "pending", lambda connection, products: [first])  # a drain cut short
        [done] = notes.drain_clearing()
        monkeypatch.undo()
        assert (done.kind, done.symbol) == ("note_face", A)
        assert elected.instrument(A).face_micros == newest  # the row, as the servicing left it
        assert notes.instrument(A).face_micros == newest
        left = len(pending(engine))
        assert len(notes.drain_clearing()) == left  # the rest, once
        assert pending(engine) == []
        check_pool(elected, pool_id)
    finally:
        elected.close()
        notes.close()


def _instructions(engine: sa.Engine) -> list[sa.Row]:
    table = ClearingInstruction.__table__
    with engine.connect() as connection:
        return list(connection.execute(sa.select(table).order_by(table.c.id)))


@pytest.mark.postgres
def test_a_pool_is_formed_on_the_shard_of_its_product(engine: sa.Engine) -> None:
    """Forming a pool lists and issues its notes in its product's books: on that product's shard; the
    other shard answers ``book_elsewhere`` (the API's 421 naming the holder) and forms nothing."""
    clock = Clock()
    single = Exchange(engine, clock=clock)
    single.start()
    try:
        for product in ("H100", "A100"):
            single.create_product(product, product)
        provider = single.create_account("p", ["provider"]).account.id
        single.deposit(provider, 10_000 * USD, "seed")
    finally:
        single.close()
    other, own = shard(engine, clock, "A100"), shard(engine, clock, "H100")
    try:
        listing = own.create_listing(provider, "H100", 10, DECEMBER, FEBRUARY).id
        with pytest.raises(BookElsewhereError) as elsewhere:
            other.create_pool(provider, terms((listing,)))
        assert elsewhere.value.product == "H100"
        assert other.pools() == []
        pool = own.create_pool(provider, terms((listing,)))
        assert [(n.symbol, n.lots) for n in pool.notes] == [(A, 40), (B, 20)]
        assert own.positions(provider)[0].qty == 40
        assert own.check() == []
    finally:
        other.close()
        own.close()
