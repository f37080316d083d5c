"""The stream announces what settlement and clearing do, whether an admin ran them or the lifecycle
inside the server: an expiry's cancelled orders and emptied book, and margin calls (opened, then
liquidating) on the account's private channel, end to end over the WebSocket."""

from __future__ import annotations

import queue
import time
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from market import db
from market.clearing import calls
from market.lifecycle.schedule import SeriesPlan
from market.records import OrderRequest
from market.service import Exchange
from tests.api.conftest import Clock, make_client, next_month_start
from tests.api.test_stream import Inbox

USD = 1_000_000
QUIET = SeriesPlan(months=0, weeks=0, days=0, option_months=0)  # the roll lists nothing of its own


def _wait(inbox: Inbox, predicate: Any, seconds: float = 60) -> dict[str, Any]:
    """The first message matching ``predicate`` within ``seconds`` (the lifecycle runs in the background)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return inbox.take(predicate, limit=50)
        except (AssertionError, queue.Empty):
            if time.monotonic() > deadline:
                raise


def _subscribe(ws: Any, inbox: Inbox, key: str, channels: list[str]) -> None:
    ws.send_json({"op": "auth", "key": key})
    inbox.take(lambda m: m.get("type") == "authenticated")
    ws.send_json({"op": "subscribe", "channels": channels})


def test_the_lifecycle_announces_an_expiry_like_an_admin_settlement(sqlite_url: str) -> None:
    clock = Clock()
    engine = db.make_engine(sqlite_url)
    ex = Exchange(engine, clock=clock)
    ex.start()
    ex.create_product("H100")
    ex.set_product_schedule("H100", QUIET)
    forward = ex.create_forward("H100", "month", next_month_start(clock()))
    trader = ex.create_account("trader", ["trader"])
    ex.deposit(trader.account.id, 100_000 * USD, "seed")
    bid = ex.place_order(trader.account.id, OrderRequest(forward.symbol, "buy", 1, price_ticks=1000))
    ex.close()
    engine.dispose()
    with (
        make_client(sqlite_url, clock=clock, lifecycle_seconds=0.05) as client,
        client.websocket_connect("/v1/stream") as ws,
    ):
        inbox = Inbox(ws)
        _subscribe(ws, inbox, trader.api_key, ["orders", f"book.{forward.symbol}"])
        snapshot = inbox.take(lambda m: m.get("type") == "snapshot")
        assert snapshot["bids"] == [["1.000", 1]]
        clock.now = forward.window_start + timedelta(minutes=1)  # delivery starts: the forward expires
        update = _wait(inbox, lambda m: m.get("type") == "order")
        assert (update["order"]["id"], update["order"]["status"]) == (bid.id, "cancelled")
        assert update["order"]["reason"] == "instrument_expired"
        delta = _wait(inbox, lambda m: m.get("channel") == f"book.{forward.symbol}")
        assert (delta["type"], delta["prev_seq"], delta["bids"]) == ("delta", snapshot["seq"], [["1.000", 0]])


def _leveraged(url: str, clock: Clock) -> tuple[str, dict[str, str], dict[str, str]]:
    """A100 cash forward; ``trader`` long 4 lots at 1.50 with little spare cash, ``mm`` rich."""
    engine = db.make_engine(url)
    ex = Exchange(engine, clock=clock)
    ex.start()
    ex.create_product("A100")
    ex.set_product_schedule("A100", SeriesPlan(settlement="cash", months=0, weeks=0, days=0, option_months=0))
    now = clock().replace(minute=0, second=0, microsecond=0)
    ex.add_fixings("A100", [(now - timedelta(days=d), 1_500_000) for d in range(1, 31)], "test")
    forward = ex.create_forward("A100", "month", next_month_start(clock()), "cash")
    ex.refresh_marks()
    keys, ids = {}, {}
    for name in ("trader", "mm", "admin"):
        created = ex.create_account(name, ["admin" if name == "admin" else "trader"])
        keys[name], ids[name] = created.api_key, created.account.id
    per_lot = ex.instrument(forward.symbol).margin_per_lot_micros
    ex.deposit(ids["trader"], 100 * USD + 5 * per_lot, "seed-trader")
    ex.deposit(ids["mm"], 100_000 * USD, "seed-mm")
    ex.place_order(ids["mm"], OrderRequest(forward.symbol, "sell", 4, price_ticks=1500))
    ex.place_order(ids["trader"], OrderRequest(forward.symbol, "buy", 4, price_ticks=1500))
    ex.remargin()
    ex.close()
    engine.dispose()
    return forward.symbol, keys, ids


def _jump(client: Any, keys: dict[str, str], clock: Clock, price: str) -> None:
    clock.now += timedelta(hours=1)
    at = clock.now.replace(minute=0, second=0, microsecond=0).isoformat()
    response = client.post(
        "/v1/index/A100/fixings",
        headers={"Authorization": f"Bearer {keys['admin']}"},
        json={"fixings": [{"at": at, "price": price}]},
    )
    assert response.status_code == 201, response.text


def test_an_admin_remargin_sends_the_margin_call_on_the_private_stream(sqlite_url: str) -> None:
    clock = Clock()
    _, keys, _ = _leveraged(sqlite_url, clock)
    clock.now += timedelta(hours=1)
    engine = db.make_engine(sqlite_url)  # a feed writes the fixing straight to the database
    Exchange(engine, clock=clock).add_fixings("A100", [(clock.now, 1_200_000)], "feed")
    engine.dispose()
    with make_client(sqlite_url, clock=clock) as client, client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        _subscribe(ws, inbox, keys["trader"], ["orders"])
        inbox.take(lambda m: m.get("type") == "subscribed")
        assert client.post("/v1/admin/remargin", headers={"Authorization": f"Bearer {keys['admin']}"}).json()[
            "calls_opened"
        ]
        message = inbox.take(lambda m: m.get("type") == "margin_call")
        assert (message["channel"], message["margin_call"]["status"]) == ("orders", "open")
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {keys['trader']}"}).json()
        assert me["margin_calls"][0]["id"] == message["margin_call"]["id"]
        assert float(message["margin_call"]["amount"]) > 0


def test_the_lifecycle_opens_then_liquidates_a_call_and_says_so_on_the_stream(sqlite_url: str) -> None:
    clock = Clock()
    symbol, keys, _ = _leveraged(sqlite_url, clock)
    with (
        make_client(sqlite_url, clock=clock, lifecycle_seconds=0.05) as client,
        client.websocket_connect("/v1/stream") as ws,
    ):
        inbox = Inbox(ws)
        _subscribe(ws, inbox, keys["trader"], ["orders", f"trades.{symbol}"])
        _jump(client, keys, clock, "1.20")  # a new fixing brings the clearing pass forward: no admin call
        opened = _wait(inbox, lambda m: m.get("type") == "margin_call")
        assert opened["margin_call"]["status"] == "open"
        bid = {"symbol": symbol, "side": "buy", "quantity": 1, "price": "1.390"}  # inside the 10% band
        placed = client.post("/v1/orders", headers={"Authorization": f"Bearer {keys['mm']}"}, json=bid)
        assert placed.status_code == 201, placed.text
        clock.now += timedelta(hours=calls.CALL_HOURS + 1)  # past the deadline: the next pass liquidates
        liquidating = _wait(
            inbox,
            lambda m: (
                m.get("type") == "margin_call"
                and m["margin_call"]["id"] == opened["margin_call"]["id"]
                and m["margin_call"]["status"] != "open"
            ),
        )
        assert liquidating["margin_call"]["status"] in ("liquidating", "closed")
        trade = _wait(inbox, lambda m: m.get("channel") == f"trades.{symbol}")
        assert trade["trade"]["price"] == "1.390"
        sold = _wait(inbox, lambda m: m.get("type") == "order" and m["order"]["side"] == "sell")
        assert (sold["order"]["filled_quantity"], sold["order"]["time_in_force"]) == (1, "ioc")


def test_a_large_move_is_re_margined_when_its_fixing_arrives(sqlite_url: str) -> None:
    """The lifecycle is off: a 2% fixing leaves the last pass alone, a 20% one runs a pass in the
    fixings request itself (call opened, announced); the CLI's --if-moved does the same."""
    clock = Clock()
    _, keys, _ = _leveraged(sqlite_url, clock)
    trader = {"Authorization": f"Bearer {keys['trader']}"}
    with make_client(sqlite_url, clock=clock) as client, client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        _subscribe(ws, inbox, keys["trader"], ["orders"])
        inbox.take(lambda m: m.get("type") == "subscribed")
        before = client.get("/v1/risk", headers=trader).json()["margin"][0]["as_of"]
        _jump(client, keys, clock, "1.47")  # 2%: below the threshold
        assert client.get("/v1/risk", headers=trader).json()["margin"][0]["as_of"] == before
        _jump(client, keys, clock, "1.20")  # 20% below the level of the last pass
        assert client.get("/v1/risk", headers=trader).json()["margin"][0]["as_of"] != before
        [call] = client.get("/v1/margin-calls", headers=trader).json()
        message = inbox.take(lambda m: m.get("type") == "margin_call")
        assert message["margin_call"] == call


def test_remargin_if_moved_from_the_cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    _leveraged(sqlite_url, clock)
    monkeypatch.setenv("FLOPEX_CLOCK_START", (clock.now + timedelta(hours=2)).isoformat())
    quiet = CliRunner().invoke(main, ["risk", "remargin", "--if-moved", "--db", sqlite_url])
    assert quiet.exit_code == 0, quiet.output
    assert "nothing to do" in quiet.output
    engine = db.make_engine(sqlite_url)
    ex = Exchange(engine, clock=lambda: clock.now + timedelta(hours=1))
    ex.add_fixings("A100", [(clock.now + timedelta(hours=1), 1_300_000)], "test")  # -13%
    engine.dispose()
    moved = CliRunner().invoke(main, ["risk", "remargin", "--if-moved", "--db", sqlite_url])
    assert moved.exit_code == 0, moved.output
    assert "large move since the last pass: A100" in moved.output
    assert "re-margined 2 accounts" in moved.output
