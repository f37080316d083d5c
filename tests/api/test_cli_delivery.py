"""``flopex delivery`` against a running server: a provider sees its delivery without a handle,
attaches one and reads its inventory; the buyer confirms a day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from api.cli import main
from market import db
from market.records import OrderRequest
from market.service import Exchange
from tests.api.live_server import serving

WEEK = datetime(2027, 3, 15, tzinfo=UTC)


def test_delivery_commands(sqlite_url: str) -> None:
    engine = db.make_engine(sqlite_url)
    now = [WEEK - timedelta(days=3)]
    ex = Exchange(engine, clock=lambda: now[0])
    ex.start()
    provider = ex.create_account("cloud", ["provider"])
    buyer = ex.create_account("lab", ["trader"])
    ex.deposit(buyer.account.id, 10_000_000_000, "seed")
    ex.create_product("H100", region="eu-west")
    symbol = ex.create_forward("H100", "week", WEEK).symbol
    listing = ex.create_listing(provider.account.id, "H100", 2, WEEK, WEEK + timedelta(days=7))
    for who, side in ((provider, "sell"), (buyer, "buy")):
        ex.place_order(who.account.id, OrderRequest(symbol=symbol, side=side, qty=2, price_ticks=2000))
    now[0] = WEEK + timedelta(minutes=1)
    ex.settle()
    ex.close()
    engine.dispose()
    start = (WEEK + timedelta(hours=2)).isoformat()
    with serving(sqlite_url, env={"FLOPEX_CLOCK_START": start}) as (http, _):
        base = str(http.base_url).rstrip("/")

        def run(key: str, *args: str) -> str:
            result = CliRunner().invoke(main, ["delivery", *args, "--url", base, "--api-key", key])
            assert result.exit_code == 0, result.output
            return result.output

        listed = run(provider.api_key, "list")
        assert symbol in listed
        assert "no handle" in listed
        delivery_id = int(listed.split()[0])
        handle = ("ssh://gpu.eu-west", "--endpoint", "10.1.2.3:22")
        attached = json.loads(run(provider.api_key, "attach", str(delivery_id), *handle))
        assert (attached["access_handle"], attached["endpoint"]) == ("ssh://gpu.eu-west", "10.1.2.3:22")
        assert json.loads(run(buyer.api_key, "upcoming")) == []  # the window has started
        ahead = ["delivery", "attach-ahead", str(listing.id), symbol, *handle]
        late = CliRunner().invoke(main, [*ahead, "--url", base, "--api-key", provider.api_key])
        assert (late.exit_code, "delivery_day_closed" in late.output) == (1, True)
        confirmed = json.loads(run(buyer.api_key, "confirm", str(delivery_id), WEEK.date().isoformat()))
        assert confirmed["days"][0]["status"] == "confirmed"
        inventory = run(provider.api_key, "inventory", str(listing.id))
        assert symbol in inventory
        assert "receivable" in inventory.splitlines()[-1]
        refused = CliRunner().invoke(
            main,
            [
                "delivery",
                "confirm",
                str(delivery_id),
                "2027-03-16",
                "--url",
                base,
                "--api-key",
                buyer.api_key,
            ],
        )
        assert refused.exit_code == 1
        assert "delivery_day_closed" in refused.output
