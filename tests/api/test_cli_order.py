"""``flopex order`` against a running server: place, list, amend, cancel; a batch with one bad order;
the dead-man switch armed and disarmed; a bad price refused with its problem code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from api.cli import main
from market import db
from market.service import Exchange
from tests.api.live_server import serving

WEEK = datetime(2027, 3, 15, tzinfo=UTC)


def test_order_commands(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    ex = Exchange(engine, clock=lambda: WEEK - timedelta(days=3))
    ex.start()
    trader = ex.create_account("lab", ["trader"])
    ex.deposit(trader.account.id, 10_000_000_000, "seed")
    ex.create_product("H100", region="eu-west")
    symbol = ex.create_forward("H100", "week", WEEK).symbol
    ex.close()
    engine.dispose()
    start = (WEEK - timedelta(days=2)).isoformat()
    with serving(sqlite_url, env={"FLOPEX_CLOCK_START": start}) as (http, _):
        base = str(http.base_url).rstrip("/")

        def run(*args: str, ok: bool = True, stdin: str | None = None) -> str:
            result = CliRunner().invoke(
                main, ["order", *args, "--url", base, "--api-key", trader.api_key], input=stdin
            )
            assert (result.exit_code == 0) is ok, result.output
            return result.output

        placed = json.loads(
            run("place", symbol, "buy", "4", "--price", "2.000", "--client-order-id", "b-1", "--json")
        )
        assert (placed["status"], placed["price"], placed["open_quantity"]) == ("open", "2.000", 4)
        order_id = placed["id"]
        listed = run("list", "--status", "live").splitlines()
        assert listed[0].split()[:2] == ["id", "symbol"]
        assert listed[1].split() == [order_id, symbol, "buy", "limit", "2.000", "4", "0", "4", "open", "b-1"]
        amended = run("amend", order_id, "--quantity", "3", "--price", "2.100").splitlines()[1].split()
        assert amended[4:8] == ["2.100", "4", "0", "3"]  # quantity as placed, 3 left open
        assert order_id in run("show", order_id)
        cancelled = run("cancel", order_id).splitlines()[1].split()
        assert cancelled[-2:] == ["cancelled", "b-1"]
        assert run("list", "--status", "live") == "no orders\n"

        batch = [
            {"symbol": symbol, "side": "buy", "quantity": 2, "price": "1.000"},
            {"symbol": symbol, "side": "buy", "quantity": 2, "price": "1.000", "client_order_id": "b-1"},
        ]
        outcomes = run("batch", "-", ok=False, stdin=json.dumps(batch)).splitlines()
        assert outcomes[1].split()[:2] == ["0", "open"]
        assert outcomes[2].split()[:3] == ["1", "not", "accepted"]
        assert "error: batch_partial: 1 of 2 orders not accepted" in outcomes[-1]

        armed = run("cancel-all-after", "60")
        assert armed.startswith("armed: cancels all your orders at ")
        timer = json.loads(run("cancel-all-after", "0", "--json"))
        assert (timer["armed"], timer["deadline"]) == (False, None)
        assert run("cancel-all-after", "0") == "disarmed\n"
        swept = json.loads(run("cancel-all", "--symbol", symbol, "--json"))
        assert [o["status"] for o in swept["cancelled"]] == ["cancelled"]

        refused = run("place", symbol, "buy", "1", "--price", "2.0x", ok=False)
        assert refused.startswith("error: validation_error: ")
        assert "price" in refused

        # a trailing stop and a one-cancels-other pair (the book has no trades: nothing is armed yet)
        trailing = json.loads(
            run(
                "place",
                symbol,
                "buy",
                "1",
                "--type",
                "trailing_stop_limit",
                "--price",
                "2.500",
                "--trail",
                "0.050",
                "--json",
            )
        )
        assert (trailing["type"], trailing["trail"], trailing["stop_price"]) == (
            "trailing_stop_limit",
            "0.050",
            None,
        )
        pair = run(
            "oco", symbol, "buy", "2", "--take-profit", "1.500", "--trail", "0.100", "--stop-limit", "2.600"
        )
        link, legs = pair.splitlines()[0], pair.splitlines()[2:]
        assert link.startswith("link ")
        assert [leg.split()[3] for leg in legs] == ["limit", "trailing_stop_limit"]
        assert run("oco", symbol, "buy", "2", "--take-profit", "1.500", ok=False).startswith("error: ")
        swept = json.loads(run("cancel-all", "--json"))
        assert sorted(o["reason"] for o in swept["cancelled"]) == ["oco", "user", "user"]
