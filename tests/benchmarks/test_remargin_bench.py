"""Benchmark: one re-margining pass over many accounts and instruments, and how it grows.

The book is written straight into the tables (building it through 10^4 orders would time the order
path, not the pass): ``accounts`` traders, each long 3 lots in one cash-settled forward and short in
another, paired so that every instrument nets to zero, across ``instruments`` forwards of 10 products
(2 months, 4 weeks, 4 days each) with 30 days of index history. A pass then marks every instrument,
pays variation margin on every position after a 2% index move, scans every account's portfolio per
product, sizes the default fund and reviews calls. The default run times 50 accounts x 10
instruments and the x10 growth in each direction; the full 10,000 x 100 size (with 1,000 x 100 and
10,000 x 10) runs under ``-m slow``. Only growth ratios are asserted, loosely (no absolute time).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from market.db import make_engine
from market.ledger import USER_BUCKETS
from market.service import Exchange
from market.tables import Account, Balance, Position

START = datetime(2026, 11, 24, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _market(url: str, accounts: int, instruments: int) -> tuple[Exchange, Clock]:
    clock = Clock()
    ex = Exchange(make_engine(url), clock=clock)
    ex.start()
    symbols = []
    for p in range(max(1, instruments // 10)):
        product = f"G{p}"
        ex.create_product(product)
        ex.add_fixings(
            product, [(START - timedelta(days=d), 1_500_000 + 5_000 * (d % 4)) for d in range(1, 31)]
        )
        symbols += [i.symbol for i in ex.create_series(product, months=2, weeks=4, days=4, settlement="cash")]
    symbols = symbols[:instruments]
    ex.refresh_marks()
    rows = {s: ex.instrument(s) for s in symbols}
    now_us = int(START.timestamp() * 1e6)
    ids = [f"bench{a:06d}" for a in range(accounts)]
    positions = []
    for a, account in enumerate(ids):
        partner = ids[a ^ 1] if (a ^ 1) < accounts else ids[0]
        if partner == account:
            continue
        for k, symbol in enumerate((symbols[a % len(symbols)], symbols[(a * 7 + 3) % len(symbols)])):
            if k == 1 and symbol == symbols[a % len(symbols)]:
                continue
            qty = 3 if (a + k) % 2 else -3
            inst = rows[symbol]
            hours = int((inst.window_end - inst.window_start).total_seconds() // 3600)
            cost = qty * 1500 * 1000 * hours
            if a < (a ^ 1):
                positions.append({"account_id": account, "symbol": symbol, "qty": qty, "cost_micros": cost})
                positions.append({"account_id": partner, "symbol": symbol, "qty": -qty, "cost_micros": -cost})
    with ex._house.db.begin() as connection:
        connection.execute(
            Account.__table__.insert(),
            [{"id": i, "name": i, "roles": "trader", "created_us": now_us} for i in ids],
        )
        connection.execute(
            Balance.__table__.insert(),
            [
                {
                    "owner": i,
                    "bucket": b,
                    "amount": 10**12 if b == "available" else 0,
                    "allow_negative": False,
                }
                for i in ids
                for b in USER_BUCKETS
            ],
        )
        merged: dict[tuple[str, str], dict] = {}
        for p in positions:
            row = merged.setdefault(
                (p["account_id"], p["symbol"]),
                {
                    **p,
                    "qty": 0,
                    "cost_micros": 0,
                    "margin_micros": 0,
                    "fees_due_micros": 0,
                    "variation_micros": 0,
                },
            )
            row["qty"] += p["qty"]
            row["cost_micros"] += p["cost_micros"]
        connection.execute(Position.__table__.insert(), list(merged.values()))
    # the external counterparty of the seeded cash
    with ex._house.db.begin() as connection:
        total = 10**12 * accounts
        connection.execute(
            sa.text(
                "UPDATE balances SET amount = amount - :t WHERE owner = 'exchange' AND bucket = 'external'"
            ),
            {"t": total},
        )
    ex.remargin()  # the first pass holds the initial margins and the fund
    return ex, clock


def _pass(url: str, accounts: int, instruments: int) -> float:
    ex, clock = _market(url, accounts, instruments)
    try:
        clock.now = START + timedelta(hours=1)
        for p in {i.product for i in ex.instruments()}:
            ex.add_fixings(p, [(clock.now, 1_530_000)])
        started = time.perf_counter()
        report = ex.remargin()
        elapsed = time.perf_counter() - started
        assert report.accounts == accounts
        assert report.variation_micros > 0
        return elapsed
    finally:
        ex.close()


def _growth(url_factory, sizes: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    times = {size: _pass(url_factory(), *size) for size in sizes}
    for (a, i), seconds in times.items():
        per_account = seconds / a * 1e3
        print(
            f"\n{a:>6} accounts x {i:>3} instruments: {seconds:.2f} s per pass ({per_account:.2f} ms/account)"
        )
    return times


@pytest.fixture
def fresh_url(sqlite_url: str, tmp_path):
    import shutil
    from pathlib import Path

    template = Path(sqlite_url.removeprefix("sqlite:///"))
    counter = iter(range(100))

    def make() -> str:
        path = tmp_path / f"bench{next(counter)}.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return make


def test_remargin_pass_grows_about_linearly(fresh_url, benchmark) -> None:
    times = _growth(fresh_url, [(50, 10), (500, 10), (50, 100)])
    accounts_growth = times[(500, 10)] / times[(50, 10)]
    instruments_growth = times[(50, 100)] / times[(50, 10)]
    benchmark.extra_info.update(accounts_x10=accounts_growth, instruments_x10=instruments_growth)
    print(f"x10 accounts: x{accounts_growth:.1f}; x10 instruments: x{instruments_growth:.1f}")
    assert accounts_growth < 30  # linear in accounts (x10), with room for a loaded machine
    assert instruments_growth < 30
    benchmark.pedantic(lambda: None, rounds=1)


@pytest.mark.slow
def test_remargin_full_size(fresh_url) -> None:
    times = _growth(fresh_url, [(1000, 10), (10_000, 10), (1000, 100), (10_000, 100)])
    assert times[(10_000, 100)] / times[(1000, 100)] < 30
