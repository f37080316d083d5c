"""``flopex statement`` against a running server: the table and the CSV."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main
from market import db
from market.service import Exchange
from tests.api.live_server import serving


def test_statement_prints_events_with_the_running_balance(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    ex = Exchange(engine)
    trader = ex.create_account("lab", ["trader"])
    for n, amount in enumerate((250_000_000, 50_000_000)):
        ex.deposit(trader.account.id, amount, f"dep-{n}")
    engine.dispose()
    with serving(sqlite_url) as (http, _):
        base = str(http.base_url).rstrip("/")
        args = ["statement", "--url", base, "--api-key", trader.api_key]
        table = CliRunner().invoke(main, args)
        assert table.exit_code == 0, table.output
        lines = table.output.splitlines()
        assert "opening balance" in lines[0]
        assert [line.split()[1] for line in lines[1:3]] == ["deposit", "deposit"]
        assert lines[2].split()[-1] == "300.000000"
        assert lines[-1].split()[-1] == "300.000000"
        csv = CliRunner().invoke(main, [*args, "--csv"])
        assert csv.exit_code == 0, csv.output
        rows = csv.output.splitlines()
        assert rows[0] == "id,at,kind,ref,symbol,qty,amount,balance"
        assert rows[-1].endswith(",50.000000,300.000000")
        bad = CliRunner().invoke(main, ["statement", "--url", base, "--api-key", "flx_nope"])
        assert bad.exit_code == 1
        assert "unauthorized" in bad.output
