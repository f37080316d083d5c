"""The lifecycle on an injected clock: a fresh market lists, marks and offers by itself; a market left
alone for six weeks catches up on its first pass; a failing duty is retried without stopping the
others; duties run once per due instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from market.lifecycle.duties import DUTIES, Duty, Outcome
from market.lifecycle.runner import Runner
from market.lifecycle.schedule import SeriesPlan
from market.records import OrderRequest
from market.service import Exchange
from tests.market.conftest import Clock

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday; Dec options expire Fri 27 Nov


def hourly(ex: Exchange, product: str, end: datetime, hours: int, level: int = 2_000_000) -> None:
    """``hours`` hourly fixings ending at ``end``: a small saw-tooth around ``level`` micro-dollars."""
    ex.add_fixings(product, [(end - timedelta(hours=h), level + 10_000 * (h % 7)) for h in range(hours)])


@pytest.fixture
def fresh(db_engine: sa.Engine) -> tuple[Exchange, Clock, Runner]:
    clock = Clock(START)
    ex = Exchange(db_engine, clock=clock)
    ex.start()
    ex.create_product("H100")
    ex.create_product("A100")
    ex.set_product_schedule("A100", SeriesPlan(settlement="cash", weeks=0, days=0, strikes=1))
    ex.set_product_schedule("H100", SeriesPlan(strikes=0))  # one Asian strike: Monte Carlo marks are slow
    yield ex, clock, Runner(ex, db_engine, owner="test")
    ex.close()


def test_a_fresh_market_lists_marks_and_offers_by_itself(fresh: tuple[Exchange, Clock, Runner]) -> None:
    ex, clock, runner = fresh
    hourly(ex, "A100", START, 48, 1_300_000)
    ran = runner.run_due()
    assert [r.name for r in ran] == [d.name for d in DUTIES]
    assert all(r.ok for r in ran), ran
    h100 = {i.symbol for i in ex.instruments(product="H100", kind="forward")}
    assert {
        "H100-2026-12",
        "H100-2027-01",
        "H100-2027-02",
        "H100-2026-W49",
        "H100-2026-W53",
        "H100-2027-W01",
    } <= h100
    assert "H100-2026-11-25" in h100
    assert "H100-2026-12-08" in h100
    assert "H100-2026-12-09" not in h100
    assert len(h100) == 3 + 6 + 14
    a100 = ex.instruments(product="A100")
    options = sorted(i.symbol for i in a100 if i.kind == "option")
    # European calls and puts, 3 strikes, on Dec (expiring 27 Nov) and Jan
    assert len(options) == 12
    assert {o.rsplit("-", 1)[0] for o in options} == {"A100-2026-12", "A100-2027-01"}
    assert all(i.margin_per_lot_micros > 0 for i in a100 if i.status == "open")  # tradeable at once
    assert not [i for i in ex.instruments(product="H100") if i.kind == "asian"]  # H100 has no fixing yet
    assert "options wait for a mark" in next(r.detail for r in ran if r.name == "roll")
    assert runner.run_due() == []  # nothing is due again at the same instant
    # H100's first fixing: the next pass writes its Asian options and prices a fair-value listing
    provider = ex.create_account("cloud", ["provider"]).account.id
    ex.create_listing(
        provider,
        "H100",
        8,
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        auto_offer="fair_value",
        spread_micros=50_000,
    )
    assert ex.orders(provider) == []  # no mark yet: no ask
    clock.advance(minutes=5)
    hourly(ex, "H100", clock.now, 24, 2_400_000)
    ran = {r.name: r for r in runner.run_due()}
    assert set(ran) == {"roll", "refresh_marks", "remargin", "auto_offers"}
    assert any(i.kind == "asian" for i in ex.instruments(product="H100"))
    (ask,) = ex.orders(provider, status="live")
    fair = ex.mark("H100-2026-12", greeks=False).fair_value_micros
    assert ask.symbol == "H100-2026-12"
    assert ask.qty == 8
    assert ask.price_ticks == -(-(fair + 50_000) // 1000)
    # a sustained move of the index (three prints: marks read a running median of five) moves the
    # mark: the ask follows it
    clock.advance(hours=1)
    ex.add_fixings("H100", [(clock.now - timedelta(minutes=m), 3_000_000) for m in (2, 1, 0)])
    runner.run_due()
    (repriced,) = ex.orders(provider, status="live")
    assert repriced.id == ask.id
    assert repriced.price_ticks > ask.price_ticks
    assert repriced.price_ticks == -(
        -(ex.mark("H100-2026-12", greeks=False).fair_value_micros + 50_000) // 1000
    )
    assert ex.check() == []


def test_six_weeks_off_are_caught_up_on_the_first_pass(fresh: tuple[Exchange, Clock, Runner]) -> None:
    ex, clock, runner = fresh
    hourly(ex, "A100", START, 48, 1_300_000)
    hourly(ex, "H100", START, 48, 2_400_000)
    runner.run_due()
    provider = ex.create_account("cloud", ["provider"]).account.id
    buyer = ex.create_account("buyer", ["trader"]).account.id
    seller = ex.create_account("seller", ["trader"]).account.id
    for account in (buyer, seller):
        ex.deposit(account, 10**12, f"seed-{account}")
    week = "H100-2026-W49"  # 30 Nov - 7 Dec
    info = ex.instrument(week)
    ex.create_listing(provider, "H100", 4, info.window_start, info.window_end, reserve_price_micros=2_000_000)
    ex.place_order(provider, OrderRequest(week, "sell", 4, price_ticks=2_500))
    ex.place_order(buyer, OrderRequest(week, "buy", 3, price_ticks=2_500))
    cash = ex.instruments(product="A100", kind="forward")[0].symbol  # A100-2026-12
    ex.place_order(buyer, OrderRequest(cash, "buy", 1, price_ticks=1_400))
    ex.place_order(seller, OrderRequest(cash, "sell", 1, price_ticks=1_400))
    # the server is down for six weeks; the weeks' fixings are ingested when it is back (fixings are
    # observations: none may be dated after the exchange clock), before the first pass
    clock.advance(days=42)
    for day in range(42):
        hourly(ex, "A100", START + timedelta(days=day + 1), 24, 1_300_000)
        hourly(ex, "H100", START + timedelta(days=day + 1), 24, 2_400_000)
    ran = runner.run_due()
    assert all(r.ok for r in ran), ran
    now = clock.now
    for inst in ex.instruments():
        if inst.expiry <= now:
            assert inst.status in ("expired", "settled"), inst.symbol
    assert ex.instrument(week).status == "settled"
    (delivery,) = ex.deliveries(buyer)
    assert (delivery.symbol, delivery.gpus) == (week, 3)
    assert ex.instrument(cash).status == "settled"  # December's index average is known
    assert ex.instrument(cash).settle_price_micros is not None
    assert all(i.status == "settled" for i in ex.instruments(product="A100") if i.underlying == cash)
    months = [i.symbol for i in ex.instruments(product="H100", kind="forward", status="open")]
    assert {"H100-2027-01", "H100-2027-02", "H100-2027-03", "H100-2027-04"} & set(months) >= {
        "H100-2027-02",
        "H100-2027-03",
        "H100-2027-04",
    }
    assert ex.check() == []


def test_a_failing_duty_backs_off_without_stopping_the_others(
    fresh: tuple[Exchange, Clock, Runner], db_engine: sa.Engine
) -> None:
    ex, clock, _ = fresh
    calls = []

    def broken(_: Exchange, __: datetime | None) -> Outcome:
        calls.append(clock.now)
        raise RuntimeError("feed down")

    duties = (Duty("broken", broken), *DUTIES)
    runner = Runner(ex, db_engine, owner="test", duties=duties)
    ran = runner.run_due()
    assert [(r.name, r.ok) for r in ran][:2] == [("broken", False), ("fix_index", True)]
    assert runner.failing() == ["broken"]
    (job,) = [j for j in runner.status() if j.name == "broken"]
    assert (job.outcome, job.failures, job.detail) == ("failed", 1, "RuntimeError: feed down")
    assert job.next_run == clock.now + timedelta(seconds=30)
    clock.advance(seconds=31)
    runner.run_due()
    (job,) = [j for j in runner.status() if j.name == "broken"]
    assert job.failures == 2
    assert job.next_run == clock.now + timedelta(seconds=60)
    assert len(calls) == 2
    # another runner cannot take a duty while this one holds its lease
    assert runner.jobs.claim("settle", "test", 0)
    assert not runner.jobs.claim("settle", "someone-else", 1)
