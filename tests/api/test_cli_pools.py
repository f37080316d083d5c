"""``flopex securitize pool create|list|show|usage|report`` and ``flopex securitize service``, straight
against a database (the period servicing itself is tested in tests/market/test_pools.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from api.reports import list_reports
from market.db import make_engine
from market.service import Exchange


def test_pool_commands(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    ex = Exchange(engine)  # the wall clock, as the command uses: the pool starts this month
    now = ex.now()
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    ex.create_product("H100")
    sponsor = ex.create_account("sponsor", ["provider"]).account.id
    ex.deposit(sponsor, 100_000_000, "seed")
    hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    with ex:
        listing = ex.create_listing(sponsor, "H100", 4, hour, hour + timedelta(days=40)).id
    engine.dispose()
    terms = {
        "code": "CLIABS",
        "name": "from the command line",
        "listing_ids": [listing],
        "start": month.isoformat(),
        "periods": 2,
        "notes": [{"tranche": "A", "face": "3000", "coupon": "0.05"}, {"tranche": "B", "face": "1000"}],
        "reserve_initial": "10",
        "lot_face": "500",
    }
    runner = CliRunner()
    db = ["--db", sqlite_url]
    made = runner.invoke(
        main, ["securitize", "pool", "create", *db, "--sponsor", sponsor, "-"], input=json.dumps(terms)
    )
    assert made.exit_code == 0, made.output
    assert "pool 1 CLIABS (active)" in made.output
    assert "CLIABS-A 3000.000000" in made.output
    again = runner.invoke(
        main, ["securitize", "pool", "create", *db, "--sponsor", sponsor, "-"], input=json.dumps(terms)
    )
    assert again.exit_code == 1
    assert "already_exists" in again.output
    bad = runner.invoke(
        main,
        ["securitize", "pool", "create", *db, "--sponsor", sponsor, "-"],
        input=json.dumps({**terms, "periods": 0}),
    )
    assert bad.exit_code == 1
    assert "periods" in bad.output
    listed = runner.invoke(main, ["securitize", "pool", "list", *db])
    assert listed.exit_code == 0
    assert "CLIABS-B 1000.000000" in listed.output
    used = runner.invoke(main, ["securitize", "pool", "usage", *db, "--sponsor", sponsor, "1", "1", "10"])
    assert used.exit_code == 0, used.output
    shown = runner.invoke(main, ["securitize", "pool", "show", *db, "1"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["conservation"]["balanced"] is True
    assert [n["lots"] for n in body["pool"]["notes"]] == [6, 2]
    served = runner.invoke(main, ["securitize", "service", *db])
    assert served.exit_code == 0
    assert "no pool period due" in served.output
    reported = runner.invoke(
        main, ["securitize", "pool", "report", *db, "1", "--out", str(tmp_path / "pool-1")]
    )
    assert reported.exit_code == 0, reported.output
    page = (tmp_path / "pool-1" / "report.html").read_text()
    assert "flopex pool CLIABS" in page
    assert "data:image/png;base64," in page
    assert json.loads((tmp_path / "pool-1" / "metrics.json").read_text())["pool"]["code"] == "CLIABS"
    assert [r.name for r in list_reports(str(tmp_path))] == ["pool-1"]  # serve --reports publishes it
    missing = runner.invoke(main, ["securitize", "pool", "show", *db, "9"])
    assert missing.exit_code == 1
    assert "not_found" in missing.output
