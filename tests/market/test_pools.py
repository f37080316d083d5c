"""Securitised pools on the exchange: forming a pool, trading its notes, servicing each period through
the pricing library's waterfall, and the invariants after every period (docs/securitization.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from api.pool_report import save_pool_report
from market.errors import (
    AlreadyExistsError,
    ForbiddenError,
    InvalidRequestError,
    InventoryExceededError,
    NotFoundError,
)
from market.records import OrderRequest
from market.securitization.records import NoteTerms, PoolTerms
from market.securitization.tables import PoolNote
from market.service import Exchange
from pricing.securitization.pool import run_rate_collateral
from pricing.securitization.waterfall import run
from tests.market.conftest import DECEMBER, JANUARY, PHYSICAL, Market

FEBRUARY = datetime(2027, 2, 1, tzinfo=UTC)
USD = 1_000_000


def terms(listings: tuple[int, ...], **changes: object) -> PoolTerms:
    """Two monthly periods from December; A (senior, OC 1.05) 4,000, B 2,000; lots of USD 100."""
    base = PoolTerms(
        code="GPUABS1",
        name="GPU capacity 2026-1",
        listing_ids=listings,
        start=DECEMBER,
        periods=2,
        notes=(
            NoteTerms("A", 4_000 * USD, coupon_ppm=60_000, oc_trigger_ppm=1_050_000),
            NoteTerms("B", 2_000 * USD, coupon_ppm=120_000),
        ),
        fees_fixed_micros=10 * USD,
        reserve_initial_micros=100 * USD,
        reserve_target_micros=200 * USD,
        lot_face_micros=100 * USD,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def order(symbol: str, side: str, qty: int, price: int) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty, price_ticks=price)


def positions(ex: Exchange, account: str) -> dict[str, int]:
    return {p.symbol: p.qty for p in ex.positions(account)}


DAY_ESCROW = 5 * 24 * 2 * USD
"""What one delivered day of the December forward releases to the provider: 5 GPUs x 24 h x 2.000."""


def deliver(market: Market) -> None:
    """December's forward starts delivery (allocated at 01:00, the provider attaches its access
    handles) and by 31 December the days to the 29th are accepted undisputed: their escrow is paid."""
    ex, clock = market.exchange, market.clock
    clock.now = DECEMBER + timedelta(hours=1)
    ex.settle()
    for delivery in ex.deliveries(market.provider):
        ex.attach_access(market.provider, delivery.id, "ssh://gpus.example/h100")
    clock.now = datetime(2026, 12, 31, tzinfo=UTC)
    ex.run_deliveries()


def check_pool(ex: Exchange, pool_id: int) -> None:
    """The invariants after every period: cash in = out + held, no negative balance, a sound ledger."""
    report = ex.pool_report(pool_id)
    c = report.conservation
    assert c.balanced, c
    assert all(n.balance_micros >= 0 for n in report.pool.notes)
    paid = sum(p.interest_micros + p.principal_micros for p in report.payments)
    assert paid == sum(p.interest_micros + p.principal_micros for p in report.periods)
    assert ex.check() == []


@pytest.fixture
def pooled(market: Market) -> tuple[Market, int]:
    """The provider's December listing (10 GPUs) and a second one (8 GPUs, December-January) pooled;
    the provider sold 5 December lots forward at 2.000 before pooling."""
    ex = market.exchange
    second = ex.create_listing(market.provider, "H100", 8, DECEMBER, FEBRUARY).id
    first = ex.listings(market.provider)[0].id
    ex.deposit(market.provider, 10_000 * USD, "provider-cash")
    ex.place_order(market.provider, order(PHYSICAL, "sell", 5, 2000))
    ex.place_order(market.buyer, order(PHYSICAL, "buy", 5, 2000))
    pool = ex.create_pool(market.provider, terms((first, second)))
    return market, pool.id


def test_pool_issues_notes_that_trade_per_100_of_face(pooled: tuple[Market, int]) -> None:
    market, pool_id = pooled
    ex = market.exchange
    pool = ex.pool(pool_id)
    assert [(n.symbol, n.lots, n.balance_micros) for n in pool.notes] == [
        ("GPUABS1-A", 40, 4_000 * USD),
        ("GPUABS1-B", 20, 2_000 * USD),
    ]
    assert pool.reserve_micros == 100 * USD
    assert pool.next_due == JANUARY
    note = ex.instrument("GPUABS1-A")
    assert (note.kind, note.settlement, note.tick_micros, note.face_micros) == (
        "note",
        "cash",
        10_000,
        100 * USD,
    )
    assert note.multiplier_micros == 10_000  # one tick (0.01 per 100) of a USD 100 lot is one cent
    assert positions(ex, market.provider)["GPUABS1-A"] == 40
    assert ex.trades("GPUABS1-A") == []  # the issue is no market trade
    before = ex.balances(market.buyer)
    ex.place_order(market.provider, order("GPUABS1-A", "sell", 15, 9950))  # 99.50
    ex.place_order(market.buyer, order("GPUABS1-A", "buy", 15, 9950))
    after = ex.balances(market.buyer)
    assert before.available - after.available == 15 * 9950 * 10_000  # USD 1,492.50
    with pytest.raises(InventoryExceededError):  # notes are never sold short
        ex.place_order(market.seller, order("GPUABS1-A", "sell", 1, 9900))
    with pytest.raises(InventoryExceededError):
        ex.place_order(market.provider, order("GPUABS1-A", "sell", 26, 9900))
    ex.refresh_marks()  # notes have no model mark; the clearing pass leaves them alone
    ex.remargin()
    assert ex.check() == []


def test_each_period_runs_the_waterfall_and_pays_holders_pro_rata(
    pooled: tuple[Market, int], tmp_path: Path
) -> None:
    market, pool_id = pooled
    ex, clock = market.exchange, market.clock
    ex.place_order(market.provider, order("GPUABS1-A", "sell", 15, 9950))
    ex.place_order(market.buyer, order("GPUABS1-A", "buy", 15, 9950))
    ex.place_order(market.provider, order("GPUABS1-B", "sell", 5, 9700))
    ex.place_order(market.seller, order("GPUABS1-B", "buy", 5, 9700))
    assert ex.service_pools().serviced == ()  # nothing is due before the first period ends
    deliver(market)
    ex.report_pool_usage(market.provider, pool_id, 0, 2_000)
    with pytest.raises(InvalidRequestError):  # more than the pooled listings cover
        ex.report_pool_usage(market.provider, pool_id, 0, 18 * 744 + 1)
    with pytest.raises(ForbiddenError):
        ex.report_pool_usage(market.buyer, pool_id, 0, 10)
    clock.now = JANUARY + timedelta(minutes=5)
    ex.add_fixings("H100", [(DECEMBER + timedelta(days=d), 2_500_000) for d in range(31)])
    provider_before = ex.balances(market.provider).available
    assert ex.service_pools().serviced == (("GPUABS1", 0),)
    assert ex.service_pools().serviced == ()  # idempotent
    check_pool(ex, pool_id)
    report = ex.pool_report(pool_id)
    (first,) = report.periods
    assert first.escrow_micros == 29 * DAY_ESCROW  # 30 and 31 December are accepted in January
    assert first.index_micros == 2_500_000
    assert first.index_revenue_micros == 2_000 * 2_500_000
    assert first.remitted_micros == 6_960 * USD + 5_000 * USD
    assert first.shortfall_micros == 0
    # the same waterfall, run here on the realised cash, says what the period pays
    from market.securitization.terms import deal_of

    deal = deal_of(terms((1, 2)), "H100", "x", (), 1)
    cash = np.array([[11_960.0], [0.0]])
    flows = run(deal, cash, run_rate_collateral(cash))
    assert first.fees_micros == round(flows.fees[0, 0] * USD)
    assert first.interest_micros == round(flows.interest[:, 0, 0].sum() * USD)
    assert first.principal_micros == round(flows.principal[:, 0, 0].sum() * USD) == 3_000 * USD
    assert first.reserve_micros == 200 * USD
    # the buyer holds 15 of A's 40 lots and gets 15/40 of A's coupon and principal
    a = [p for p in report.payments if p.symbol == "GPUABS1-A"]
    assert {p.account_id: p.lots for p in a} == {market.buyer: 15, market.provider: 25}
    per_lot = {p.account_id: (p.interest_micros // p.lots, p.principal_micros // p.lots) for p in a}
    assert per_lot[market.buyer] == per_lot[market.provider]
    assert ex.instrument("GPUABS1-A").face_micros == 100 * USD - per_lot[market.buyer][1]
    assert ex.balances(market.provider).available - provider_before < 0  # it remitted
    clock.now = JANUARY + timedelta(days=1, minutes=5)
    ex.run_deliveries()  # the last two days of December are accepted: their escrow is January's
    clock.now = FEBRUARY + timedelta(minutes=5)
    ex.report_pool_usage(market.provider, pool_id, 1, 2_000)
    ex.add_fixings("H100", [(JANUARY + timedelta(days=d), 2_000_000) for d in range(31)])
    resting = ex.place_order(market.buyer, order("GPUABS1-A", "sell", 3, 10100))
    done = ex.service_pools(pool_id)
    assert done.serviced == (("GPUABS1", 1),)
    assert done.retired == ("GPUABS1-A", "GPUABS1-B")
    closed = ex.order(market.buyer, resting.id)
    assert (closed.status, closed.reason) == ("cancelled", "note_retired")
    check_pool(ex, pool_id)
    final = ex.pool_report(pool_id)
    assert final.pool.status == "retired"
    assert final.pool.cash_micros == 0
    assert final.pool.reserve_micros == 0
    assert final.periods[1].index_revenue_micros == 4_000 * USD
    for note in final.pool.notes:  # repaid in full, every lot's face now zero
        assert note.writedown_micros == 0
        assert note.principal_paid_micros == note.lots * note.lot_face_micros
        assert note.balance_micros == 0
        assert note.face_per_lot_micros == 0
        assert note.status == "settled"
    # the worked pool of docs/securitization.md, row by row
    table = [
        (
            p.remitted_micros,
            p.fees_micros,
            p.interest_micros,
            p.principal_micros,
            p.residual_micros,
            p.reserve_micros,
            p.residue_micros,
        )
        for p in final.periods
    ]
    assert table == [
        (11_960 * USD, 10 * USD, 40 * USD, 3_000 * USD, 8_810 * USD, 200 * USD, 0),
        (4_480 * USD, 10 * USD, 25 * USD, 3_000 * USD, 1_645 * USD, 0, 0),
    ]
    page = save_pool_report(final, tmp_path).read_text()  # the live pool's HTML report
    assert page.count("data:image/png;base64,") == 2
    assert "balanced" in page
    with pytest.raises(Exception, match="does not trade"):
        ex.place_order(market.buyer, order("GPUABS1-B", "buy", 1, 5000))


def test_a_sponsor_short_of_cash_remits_what_it_has(pooled: tuple[Market, int]) -> None:
    market, pool_id = pooled
    ex, clock = market.exchange, market.clock
    deliver(market)
    ex.withdraw(market.provider, ex.balances(market.provider).available, "all-of-it")
    clock.now = JANUARY + timedelta(minutes=5)
    ex.service_pools()
    (first,) = ex.pool_report(pool_id).periods
    assert first.remitted_micros == 0
    assert first.shortfall_micros == 29 * DAY_ESCROW
    assert first.breaches == ("A",)  # nothing came in: A's OC test fails
    check_pool(ex, pool_id)
    clock.now = FEBRUARY
    ex.service_pools()
    report = ex.pool_report(pool_id)
    assert report.triggers == ((0, "A"), (1, "A"))
    a_note, b_note = report.pool.notes
    assert b_note.principal_paid_micros == 0
    assert b_note.writedown_micros == 2_000 * USD
    assert a_note.writedown_micros == 4_000 * USD - a_note.principal_paid_micros > 0
    assert all(n.balance_micros == 0 for n in report.pool.notes)
    check_pool(ex, pool_id)


def test_bad_pools_are_refused(market: Market) -> None:
    ex = market.exchange
    mine = ex.listings(market.provider)[0].id
    other = ex.create_account("other", ["provider"]).account.id
    theirs = ex.create_listing(other, "H100", 1, DECEMBER, JANUARY).id
    with pytest.raises(ForbiddenError):
        ex.create_pool(market.buyer, terms((mine,)))
    with pytest.raises(NotFoundError):
        ex.create_pool(market.provider, terms((mine, theirs)))
    for changes, field in (
        ({"start": DECEMBER + timedelta(days=1)}, "start"),
        ({"code": "x"}, "code"),
        ({"notes": (NoteTerms("A", 150 * USD),)}, "notes[0].face"),
        ({"reserve_initial_micros": 300 * USD}, "reserve_initial"),
        ({"principal": "random"}, "principal"),
    ):
        with pytest.raises(InvalidRequestError) as refused:
            ex.create_pool(market.provider, terms((mine,), **changes))
        assert refused.value.field == field, changes
    with pytest.raises(Exception, match="USD"):  # the sponsor cannot fund the reserve
        ex.create_pool(market.provider, terms((mine,)))
    ex.deposit(market.provider, 1_000 * USD, "cash")
    ex.create_pool(market.provider, terms((mine,)))
    with pytest.raises(AlreadyExistsError):
        ex.create_pool(market.provider, terms((mine,), code="GPUABS2"))
    with ex._house.read() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(PoolNote.__table__)).scalar() == 2
    assert ex.check() == []


def test_rounding_residue_is_carried_and_paid_out(market: Market) -> None:
    """A coupon of 6.5% on USD 100 lots is 0.5416666... a month per lot: each lot gets the whole
    micro-dollars, the rest stays in the pool as the period's residue, later periods pay it as soon as
    it makes a whole micro-dollar per lot, and the last period's residue goes to the sponsor."""
    ex, clock = market.exchange, market.clock
    ex.deposit(market.provider, 10_000 * USD, "provider-cash")
    listing = ex.create_listing(market.provider, "H100", 8, DECEMBER, datetime(2027, 3, 1, tzinfo=UTC)).id
    odd = (NoteTerms("A", 3_000 * USD, coupon_ppm=65_000), NoteTerms("B", 700 * USD, coupon_ppm=70_000))
    pool = ex.create_pool(market.provider, terms((listing,), notes=odd, periods=3, reserve_initial_micros=0))
    for month in range(3):
        ex.report_pool_usage(market.provider, pool.id, month, 1_000)
    clock.now = datetime(2027, 3, 1, 0, 5, tzinfo=UTC)
    for start in (DECEMBER, JANUARY, FEBRUARY):
        ex.add_fixings("H100", [(start + timedelta(days=d), 1_500_000) for d in range(28)])
    assert len(ex.service_pools().serviced) == 3
    check_pool(ex, pool.id)
    report = ex.pool_report(pool.id)
    first, second, last = report.periods
    # a third of A's USD 3,000 is 41.111... a lot: 41.11 is paid, 0.0333 x 30 lots stays, with the
    # interest's fractions of a micro-dollar per lot (23 micro-dollars)
    assert first.principal_micros == 30 * 41_110_000
    assert first.residue_micros == 33_333 + 23
    assert second.principal_micros == 30 * 41_110_000  # the cumulative 82.222... still rounds to 82.22
    assert second.residue_micros == 66_676
    assert last.principal_micros == 30 * 17_780_000 + 700 * USD  # the rest of A, carried cents too, then B
    assert last.residue_micros == 13  # under a micro-dollar per lot: released to the sponsor
    for note in report.pool.notes:
        assert note.principal_paid_micros == note.lots * note.lot_face_micros
        assert note.interest_paid_micros % note.lots == 0  # every lot was paid the same
        assert note.writedown_micros == 0


def test_the_exchange_check_catches_a_pool_losing_cash(pooled: tuple[Market, int]) -> None:
    market, pool_id = pooled
    ex = market.exchange
    issuer = ex.pool(pool_id).issuer_id
    with ex._house.transaction() as uow:  # a bug paying one micro-dollar out of the pool's reserve
        uow.ledger.move((issuer, "reserve"), (market.buyer, "available"), 1)
        uow.ledger.post("bug")
    assert not ex.pool_report(pool_id).conservation.balanced
    (problem,) = ex.check()
    assert problem.startswith("a pool's cash in differs")
    assert "GPUABS1" in problem
