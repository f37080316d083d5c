"""A book refused at recovery, over HTTP and the CLI: the difference first, the rebuild when told."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main
from market import db
from tests.api.conftest import Market, make_client
from tests.market.test_rebuild_book import corrupt


def _bids(m: Market) -> list[str]:
    return [
        m.ok(
            "POST",
            "/v1/orders",
            "trader",
            201,
            json={"symbol": m.symbol, "side": "buy", "quantity": q, "price": p},
        )["id"]
        for q, p in ((2, "1.000"), (1, "0.900"))
    ]


def _corrupted(m: Market, url: str) -> tuple[str, str]:
    tampered, deleted = _bids(m)
    engine = db.make_engine(url)
    try:
        corrupt(engine, tampered, deleted)
    finally:
        engine.dispose()
    return tampered, deleted


def test_rebuild_book_over_http_and_the_cli(market: Market, sqlite_url: str) -> None:
    m = market
    path = f"/v1/admin/books/{m.symbol}"
    assert m.ok("GET", f"{path}/recovery", "admin")["refused"] is False
    refused = m.call("POST", f"{path}/rebuild", "admin", json={"confirm": True})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request")
    assert m.call("GET", f"{path}/recovery", "trader").status_code == 403

    tampered, deleted = _corrupted(m, sqlite_url)
    shown = CliRunner().invoke(main, ["admin", "rebuild-book", m.symbol, "--db", sqlite_url])
    assert shown.exit_code == 0, shown.output
    assert f"book {m.symbol}: REFUSED" in shown.output
    assert f"order {deleted}: database 1 open, replay not resting" in shown.output
    assert "run again with --yes" in shown.output

    with make_client(sqlite_url, clock=m.clock) as client:  # a restart: the book is refused
        restarted = Market(client, m.keys, m.ids, m.symbol, m.window, m.clock)
        order = {"symbol": m.symbol, "side": "buy", "quantity": 1, "price": "0.800"}
        assert (
            restarted.call("POST", "/v1/orders", "trader", json=order).json()["code"] == "recovery_mismatch"
        )
        diff = restarted.ok("GET", f"{path}/recovery", "admin")
        assert diff["refused"] is True
        assert diff["diverging"] == 1
        assert diff["divergences"][0]["command"].find(tampered) > 0
        assert diff["orders"] == [{"order_id": deleted, "stored_open_qty": 1, "replayed_open_qty": None}]
        unconfirmed = restarted.call("POST", f"{path}/rebuild", "admin", json={"confirm": False})
        assert (unconfirmed.status_code, unconfirmed.json()["code"]) == (400, "invalid_request")

    done = CliRunner().invoke(main, ["admin", "rebuild-book", m.symbol, "--yes", "--db", sqlite_url])
    assert done.exit_code == 0, done.output
    assert f"rebuilt {m.symbol}: cancelled 2 order(s)" in done.output
    assert "the book trades again" in done.output

    with make_client(sqlite_url, clock=m.clock) as client:
        again = Market(client, m.keys, m.ids, m.symbol, m.window, m.clock)
        assert again.ok("GET", f"{path}/recovery", "admin")["refused"] is False
        assert again.ok("GET", f"/v1/orders/{deleted}", "trader")["reason"] == "book_rebuilt"
        tampered, deleted = _corrupted(again, sqlite_url)
    with make_client(sqlite_url, clock=m.clock) as client:
        third = Market(client, m.keys, m.ids, m.symbol, m.window, m.clock)
        rebuilt = third.ok("POST", f"{path}/rebuild", "admin", json={"confirm": True})
        assert rebuilt == {
            "symbol": m.symbol,
            "cancelled": sorted([tampered, deleted]),
            "dropped": [],
            "refused": False,
        }
        assert third.ok("GET", "/v1/admin/check", "admin")["ok"] is True
        assert third.ok("GET", "/v1/me", "trader")["balances"]["reserved"] == "0.000000"
