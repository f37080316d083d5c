"""``flopex risk remargin`` and ``flopex risk report`` against a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from api.cli import main
from market.db import make_engine
from market.records import OrderRequest
from market.service import Exchange

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def test_remargin_then_report(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOPEX_CLOCK_START", NOW.isoformat())  # the commands' exchange clock
    engine = make_engine(sqlite_url)
    ex = Exchange(engine, clock=lambda: NOW)
    ex.start()
    ex.create_product("A100")
    now = NOW
    ex.add_fixings(
        "A100", [(now - timedelta(days=d), 1_500_000 + 10_000 * (d % 3)) for d in range(1, 40)], "t"
    )
    [month] = ex.create_series("A100", months=1, weeks=0, days=0, settlement="cash")
    ex.refresh_marks()
    long, short = (ex.create_account(n, ["trader"]).account.id for n in ("long", "short"))
    for account in (long, short):
        ex.deposit(account, 10**11, f"seed-{account}")
    ex.place_order(short, OrderRequest(month.symbol, "sell", 3, price_ticks=1500))
    ex.place_order(long, OrderRequest(month.symbol, "buy", 3, price_ticks=1500))
    ex.close()
    passed = CliRunner().invoke(main, ["risk", "remargin", "--db", sqlite_url])
    assert passed.exit_code == 0, passed.output
    assert "re-margined 2 accounts" in passed.output
    report = CliRunner().invoke(main, ["risk", "report", "--db", sqlite_url, long])
    assert report.exit_code == 0, report.output
    assert "VaR 99% 1d historical" in report.output
    assert "stress new_generation" in report.output
    assert "the per-instrument rule would hold" in report.output
    missing = CliRunner().invoke(main, ["risk", "report", "--db", sqlite_url, "nobody"])
    assert missing.exit_code == 1
    assert "not_found" in missing.output
    engine.dispose()
