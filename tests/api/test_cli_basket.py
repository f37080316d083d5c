"""``flopex basket create|authorise|list|show|nav|create-units|redeem|wind-up``, straight against a
database (the use cases themselves are tested in tests/market/test_baskets.py)."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from api.cli import main
from market.db import make_engine
from market.records import OrderRequest
from market.service import Exchange


def test_basket_commands(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    ex = Exchange(engine)  # the wall clock, as the command uses
    now = ex.now()
    with ex:
        ex.create_product("A100")
        ex.create_series("A100", months=2, weeks=0, days=0, settlement="cash")
        ex.add_fixings("A100", [(now - timedelta(days=30 - d), 1_500_000) for d in range(30)], "test")
        ex.refresh_marks()
        front = min(i.symbol for i in ex.instruments() if i.kind == "forward")
        ap, mm = (ex.create_account(name, ["trader"]).account.id for name in ("ap", "mm"))
        for account in (ap, mm):
            ex.deposit(account, 100_000_000_000, f"seed-{account}")
    runner = CliRunner()
    db = ["--db", sqlite_url]
    terms = {"symbol": "CLIB", "name": "from the command line", "legs": [{"symbol": front, "lots": 1}]}
    made = runner.invoke(main, ["basket", "create", *db, "-"], input=json.dumps(terms))
    assert made.exit_code == 0, made.output
    assert made.output.startswith(f"CLIB (active): 1 {front} per unit; 0 units")
    bad = runner.invoke(main, ["basket", "create", *db, "-"], input=json.dumps({**terms, "legs": []}))
    assert (bad.exit_code, "legs" in bad.output) == (1, True)
    assert runner.invoke(main, ["basket", "authorise", *db, "CLIB", ap]).exit_code == 0
    nav = json.loads(runner.invoke(main, ["basket", "nav", *db, "CLIB"]).output)
    [mark] = nav["marks"]
    price = int(mark["mark"].replace(".", "")) // 1_000  # ticks of 0.001
    with ex:
        ex.place_order(mm, OrderRequest(symbol=front, side="sell", qty=2, price_ticks=price))
        ex.place_order(ap, OrderRequest(symbol=front, side="buy", qty=2, price_ticks=price))
    engine.dispose()
    flow = runner.invoke(main, ["basket", "create-units", *db, "CLIB", "2", "--account", ap, "--key", "k"])
    assert flow.exit_code == 0, flow.output
    assert (json.loads(flow.output)["units"], json.loads(flow.output)["nav"]) == (2, nav["nav"])
    out = runner.invoke(main, ["basket", "redeem", *db, "CLIB", "1", "--account", ap])
    assert json.loads(out.output)["action"] == "redeem", out.output
    short = runner.invoke(main, ["basket", "redeem", *db, "CLIB", "1", "--account", ap])
    assert (short.exit_code, "invalid_quantity" in short.output) == (1, True)
    shown = json.loads(runner.invoke(main, ["basket", "show", *db, "CLIB"]).output)
    assert (shown["units"], shown["participants"]) == (1, [ap])
    assert "CLIB (active)" in runner.invoke(main, ["basket", "list", *db]).output
    published = json.loads(runner.invoke(main, ["basket", "nav", *db, "--publish"]).output)
    assert [p["symbol"] for p in published] == ["CLIB"]
    assert runner.invoke(main, ["basket", "wind-up", *db]).output == "no fund due\n"
