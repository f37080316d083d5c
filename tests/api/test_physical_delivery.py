"""Physical GPU-hours end to end over HTTP, on SQLite and PostgreSQL: a listing checked against its
product and posting collateral, a buyer reselling part of what it bought, delivery to whoever holds
the position, an access handle, days confirmed, disputed and upheld, and a day failed for want of a
handle -- every refund and collateral charge landing in the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market import db
from market.service import Exchange
from tests.api.conftest import Clock, Market, make_client
from tests.api.test_routes import assert_problem
from tests.api.test_stream import Inbox

WEEK = datetime(2027, 3, 15, tzinfo=UTC)  # a Monday after the clock's start (2027-03-10)
RATE = Decimal("2.40")  # the product's collateral per GPU-day


def _market(client, clock: Clock, admin_key: str) -> Market:
    m = Market(client, {"admin": admin_key}, {}, "", ("", ""), clock)
    for name, roles in (("cloud", ["provider"]), ("alice", ["trader"]), ("bob", ["trader"])):
        created = m.ok("POST", "/v1/accounts", "admin", 201, json={"name": name, "roles": roles})
        m.keys[name], m.ids[name] = created["api_key"], created["account"]["id"]
        m.ok("POST", f"/v1/accounts/{m.ids[name]}/deposits", "admin", 201, json={"amount": "10000"})
    product = {
        "id": "H100",
        "description": "H100 SXM 80GB",
        "region": "eu-west",
        "collateral_per_gpu_day": "2.40",
    }
    m.ok("POST", "/v1/products", "admin", 201, json=product)
    forward = {"type": "forward", "product": "H100", "window": "week", "start": WEEK.isoformat()}
    m.symbol = m.ok("POST", "/v1/instruments", "admin", 201, json=forward)["symbol"]
    return m


@pytest.fixture
def m(db_url: str) -> Iterator[Market]:
    """Admin, a provider (cloud) and two traders (alice, bob) with USD 10,000 each; product H100 in
    eu-west with USD 2.40 collateral per GPU-day; the week forward starting ``WEEK``."""
    engine = db.make_engine(db_url)
    admin_key = Exchange(engine).create_account("ops", ["admin"]).api_key
    engine.dispose()
    clock = Clock(datetime(2027, 3, 10, 9, 0, tzinfo=UTC))
    with make_client(db_url, clock=clock) as client:
        yield _market(client, clock, admin_key)


def _cash(m: Market, who: str) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in m.ok("GET", "/v1/me", who)["balances"].items()}


def test_resale_delivery_handoff_disputes_and_failures(m: Market) -> None:
    window = {
        "product": "H100",
        "gpus": 4,
        "start": WEEK.isoformat(),
        "end": (WEEK + timedelta(days=7)).isoformat(),
    }

    # the listing must match the product's region and spec, and posts collateral
    wrong = m.call("POST", "/v1/listings", "cloud", json={**window, "region": "us-east-1"})
    assert_problem(wrong, 400, "invalid_request")
    assert_problem(
        m.call("POST", "/v1/listings", "cloud", json={**window, "spec": "A100 PCIe"}),
        400,
        "invalid_request",
    )
    listing = m.ok("POST", "/v1/listings", "cloud", 201, json={**window, "region": "EU-West"})
    assert (listing["region"], listing["spec"]) == ("eu-west", "H100 SXM 80GB")
    assert Decimal(listing["collateral"]) == 4 * 7 * RATE
    assert _cash(m, "cloud")["collateral"] == 4 * 7 * RATE

    # alice buys 4 GPUs, resells 3 to bob (no provider role needed), cannot resell more than she holds
    m.ok(
        "POST",
        "/v1/orders",
        "cloud",
        201,
        json={"symbol": m.symbol, "side": "sell", "quantity": 4, "price": "2.000"},
    )
    m.ok(
        "POST",
        "/v1/orders",
        "alice",
        201,
        json={"symbol": m.symbol, "side": "buy", "quantity": 4, "price": "2.000"},
    )
    resale = {"symbol": m.symbol, "side": "sell", "quantity": 3, "price": "2.500"}
    assert m.ok("POST", "/v1/orders", "alice", 201, json=resale)["status"] == "open"
    too_much = m.call("POST", "/v1/orders", "alice", json={**resale, "quantity": 2})
    assert_problem(too_much, 409, "inventory_exceeded")
    before = _cash(m, "alice")["available"]
    bought = m.ok("POST", "/v1/orders", "bob", 201, json={**resale, "side": "buy"})
    assert bought["status"] == "filled"
    assert _cash(m, "alice")["available"] - before == 3 * Decimal("2.5") * 168  # paid at the trade
    (held,) = m.ok("GET", "/v1/positions", "alice")["items"]
    assert (held["symbol"], held["quantity"], held["state"]) == (m.symbol, 1, "open")
    assert Decimal(held["average_price"]) == 2
    assert Decimal(held["realised_pnl"]) == 3 * Decimal("0.5") * 168  # sold 3 at 2.50 bought at 2.00
    assert Decimal(held["mark"]) == Decimal("2.5")  # no index yet: the last trade
    assert Decimal(held["unrealised_pnl"]) == Decimal("0.5") * 168
    assert m.ok("GET", "/v1/positions?state=closed", "alice")["items"] == []

    # delivery follows the holders at delivery start
    m.clock.now = WEEK + timedelta(minutes=1)
    assert m.symbol in m.ok("POST", "/v1/admin/settle", "admin")["delivered"]
    assert m.ok("GET", "/v1/positions", "alice")["items"] == []  # delivered: no longer open
    (closed,) = m.ok("GET", "/v1/positions?state=closed", "alice")["items"]
    assert (closed["state"], Decimal(closed["realised_pnl"])) == ("closed", 3 * Decimal("0.5") * 168)
    (to_bob,) = m.ok("GET", "/v1/deliveries", "bob")["items"]
    (to_alice,) = m.ok("GET", "/v1/deliveries", "alice")["items"]
    assert (to_bob["gpus"], to_alice["gpus"], to_bob["region"]) == (3, 1, "eu-west")
    assert to_bob["alert"]
    assert to_bob["access_handle"] is None
    assert [d["status"] for d in to_bob["days"]] == ["pending"] * 7
    assert Decimal(to_bob["escrow"]) == 3 * 2 * 168  # at the provider's price, not the resale's
    assert _cash(m, "cloud")["available"] == 10000 - 4 * 7 * RATE  # nothing paid at the start

    # the provider hands bob access; alice's delivery gets none
    path = f"/v1/deliveries/{to_bob['id']}"
    assert_problem(m.call("POST", f"{path}/access", "bob", json={"handle": "x"}), 403, "forbidden")
    attached = m.ok("POST", f"{path}/access", "cloud", json={"handle": "ssh://h100-7.eu-west.cloud"})
    assert (attached["access_handle"], attached["alert"]) == ("ssh://h100-7.eu-west.cloud", None)

    # four hours in, alice's first day fails: refund from escrow, collateral charged to the provider
    m.clock.now = WEEK + timedelta(hours=4, minutes=1)
    assert m.ok("POST", "/v1/admin/deliveries/run", "admin")["failed"] == 1
    day1 = m.ok("GET", f"/v1/deliveries/{to_alice['id']}", "alice")["days"][0]
    assert (day1["status"], Decimal(day1["escrow"]), Decimal(day1["collateral_charged"])) == (
        "failed",
        Decimal(2 * 24),
        RATE,
    )

    # bob confirms three days and disputes the fourth; the admin upholds the dispute
    days = [(WEEK + timedelta(days=d)).date().isoformat() for d in range(4)]
    assert_problem(m.call("POST", f"{path}/days/{days[1]}/confirm", "bob"), 409, "delivery_day_closed")
    paid = _cash(m, "cloud")["available"]
    for n, day in enumerate(days[:3]):
        m.clock.now = WEEK + timedelta(days=n, hours=20)
        m.ok("POST", f"{path}/days/{day}/confirm", "bob")
    assert _cash(m, "cloud")["available"] - paid == 3 * 3 * 2 * 24
    m.clock.now = WEEK + timedelta(days=3, hours=20)
    assert_problem(m.call("POST", f"{path}/days/{days[0]}/confirm", "bob"), 409, "delivery_day_closed")
    assert_problem(m.call("POST", f"{path}/days/{days[3]}/confirm", "cloud"), 403, "forbidden")
    m.ok("POST", f"{path}/days/{days[3]}/dispute", "bob", json={"reason": "nodes unreachable all day"})
    bob_before = _cash(m, "bob")["available"]
    decided = m.ok(
        "POST",
        f"/v1/admin/deliveries/{to_bob['id']}/days/{days[3]}/resolve",
        "admin",
        json={"uphold": True},
    )
    assert [d["status"] for d in decided["days"][:4]] == ["confirmed"] * 3 + ["upheld"]
    assert _cash(m, "bob")["available"] - bob_before == 3 * 2 * 24 + 3 * RATE
    ledger = m.ok("GET", "/v1/ledger", "bob")["items"]
    kinds = {e["kind"] for e in ledger}
    assert "delivery_upheld" in kinds
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}

    # bob's statement: one line per event (no hold/release pairs), the running balance his cash
    statement = m.ok("GET", "/v1/statement", "bob")
    kinds = [line["kind"] for line in statement["lines"]]
    assert kinds[:2] == ["deposit", "order"]
    assert kinds.count("delivery_upheld") == 1
    bought_line, upheld = statement["lines"][1], statement["lines"][kinds.index("delivery_upheld")]
    assert (bought_line["symbol"], bought_line["quantity"]) == (m.symbol, 3)
    assert (upheld["symbol"], upheld["quantity"]) == (m.symbol, None)
    assert (statement["lines"][0]["symbol"], statement["lines"][0]["quantity"]) == (None, None)
    alice_sold = [
        line
        for line in m.ok("GET", "/v1/statement", "alice")["lines"]
        if line["kind"] == "order" and line["quantity"] == -3
    ]
    assert [line["symbol"] for line in alice_sold] == [m.symbol]  # her resale, as the maker
    assert statement["lines"][-1]["balance"] == statement["closing_balance"]
    assert Decimal(statement["closing_balance"]) == _cash(m, "bob")["cash"]
    since = m.ok("GET", "/v1/statement", "bob", params={"start": statement["lines"][1]["at"]})
    assert Decimal(since["opening_balance"]) == 10000
    assert len(since["lines"]) == len(kinds) - 1
    csv = m.call("GET", "/v1/statement.csv", "bob")
    assert csv.headers["content-type"].startswith("text/csv")
    rows = csv.text.strip().split("\r\n")
    assert rows[0] == "id,at,kind,ref,symbol,qty,amount,balance"
    assert len(rows) == 2 + len(kinds)
    assert rows[3].split(",")[4:6] == [m.symbol, "3"]
    assert rows[-1].endswith(statement["closing_balance"])

    # the week ends; undisputed days are accepted a day later and the collateral left comes back
    m.clock.now = WEEK + timedelta(days=8, hours=1)
    report = m.ok("POST", "/v1/admin/deliveries/run", "admin")
    assert report["accepted"] == 3  # bob's last three days; alice's days failed, handle never came
    cloud = _cash(m, "cloud")
    assert cloud["collateral"] == 0
    assert Decimal(report["collateral_released"]) == 4 * 7 * RATE - 1 * RATE - 3 * RATE - 6 * RATE
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def test_provider_inventory_receivables_and_no_op_withdrawal(m: Market) -> None:
    end = (WEEK + timedelta(days=7)).isoformat()
    listing = m.ok(
        "POST",
        "/v1/listings",
        "cloud",
        201,
        json={"product": "H100", "gpus": 4, "start": WEEK.isoformat(), "end": end},
    )
    sell = {"symbol": m.symbol, "side": "sell", "quantity": 3, "price": "2.000"}
    m.ok("POST", "/v1/orders", "cloud", 201, json=sell)
    m.ok("POST", "/v1/orders", "alice", 201, json={**sell, "side": "buy", "quantity": 2})
    m.ok("POST", "/v1/orders", "cloud", 201, json={**sell, "quantity": 1, "price": "2.100"})
    view = m.ok("GET", f"/v1/listings/{listing['id']}/inventory", "cloud")
    (line,) = view["forwards"]
    assert (line["symbol"], line["listed"], line["sold"], line["offered"], line["free"]) == (
        m.symbol,
        4,
        2,
        2,
        0,
    )
    assert Decimal(view["collateral"]) == 4 * 7 * RATE
    summary = m.ok("GET", "/v1/listings/inventory", "cloud")
    assert Decimal(summary["receivable"]) == 2 * 2 * 168  # sold, not yet delivered
    assert Decimal(summary["forwards"][0]["receivable"]) == 2 * 2 * 168
    # nothing is free: a withdrawal that would do nothing says so
    assert_problem(m.call("DELETE", f"/v1/listings/{listing['id']}", "cloud"), 409, "inventory_exceeded")
    assert_problem(m.call("GET", "/v1/listings/999/inventory", "cloud"), 404, "not_found")
    # delivery moves the receivable onto the delivery days, still owed until confirmed
    m.clock.now = WEEK + timedelta(minutes=5)
    m.ok("POST", "/v1/admin/settle", "admin")
    view = m.ok("GET", f"/v1/listings/{listing['id']}/inventory", "cloud")
    assert Decimal(view["receivable"]) == 2 * 2 * 168


def _asks_and_carol(m: Market) -> None:
    """cloud lists 8 GPUs for the week and asks 3 lots at 2.000 and 3 at 2.500; carol, a trader, has
    USD 1,000: 2 lots at 2.00 (USD 336 a week each); a third would cost 420 more."""
    end = (WEEK + timedelta(days=7)).isoformat()
    listing = {"product": "H100", "gpus": 8, "start": WEEK.isoformat(), "end": end}
    m.ok("POST", "/v1/listings", "cloud", 201, json=listing)
    for price in ("2.000", "2.500"):
        ask = {"symbol": m.symbol, "side": "sell", "quantity": 3, "price": price}
        m.ok("POST", "/v1/orders", "cloud", 201, json=ask)
    carol = m.ok("POST", "/v1/accounts", "admin", 201, json={"name": "carol", "roles": ["trader"]})
    m.keys["carol"], m.ids["carol"] = carol["api_key"], carol["account"]["id"]
    m.ok("POST", f"/v1/accounts/{m.ids['carol']}/deposits", "admin", 201, json={"amount": "1000"})


def test_market_orders_fill_within_means(m: Market) -> None:
    _asks_and_carol(m)
    market_buy = {"symbol": m.symbol, "side": "buy", "type": "market", "quantity": 10}
    order = m.ok("POST", "/v1/orders", "carol", 201, json=market_buy)
    assert (order["filled_quantity"], order["status"], order["reason"]) == (
        2,
        "expired",
        "insufficient_funds",
    )
    assert order["quantity"] == 10
    assert Decimal(_cash(m, "carol")["available"]) == 1000 - 2 * 336
    # alice can pay for the whole book: she gets what it offers, the rest expires as any IOC
    order = m.ok("POST", "/v1/orders", "alice", 201, json=market_buy)
    assert order["filled_quantity"] == 4
    # carol resells more than the 2 lots she holds, at market: she sells what she holds
    assert order["reason"] != "insufficient_funds"
    bid = {"symbol": m.symbol, "side": "buy", "quantity": 5, "price": "3.000"}
    m.ok("POST", "/v1/orders", "alice", 201, json=bid)
    resale = m.ok(
        "POST",
        "/v1/orders",
        "carol",
        201,
        json={"symbol": m.symbol, "side": "sell", "type": "market", "quantity": 5},
    )
    assert (resale["filled_quantity"], resale["reason"]) == (2, "inventory_exceeded")
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def _listen(ws, key: str) -> Inbox:
    inbox = Inbox(ws)
    ws.send_json({"op": "auth", "key": key})
    inbox.take(lambda msg: msg.get("type") == "authenticated")
    ws.send_json({"op": "subscribe", "channels": ["orders"]})
    inbox.take(lambda msg: msg.get("type") == "subscribed")
    return inbox


def test_access_attached_ahead_and_the_alert_pushed_on_the_stream(m: Market) -> None:
    end = (WEEK + timedelta(days=7)).isoformat()
    week = {"product": "H100", "gpus": 2, "start": WEEK.isoformat(), "end": end}
    ready = m.ok("POST", "/v1/listings", "cloud", 201, json=week)["id"]
    late = m.ok("POST", "/v1/listings", "cloud", 201, json=week)["id"]
    sell = {"symbol": m.symbol, "side": "sell", "quantity": 4, "price": "2.000"}
    m.ok("POST", "/v1/orders", "cloud", 201, json=sell)
    m.ok("POST", "/v1/orders", "alice", 201, json={**sell, "side": "buy"})

    # before the window: the provider attaches the handle for what listing `ready` delivers
    ahead = {"symbol": m.symbol, "handle": "ssh://h100-1.eu-west.cloud", "endpoint": "10.0.0.7:22"}
    attached = m.ok("POST", f"/v1/listings/{ready}/access", "cloud", json=ahead)
    assert (attached["symbol"], attached["endpoint"]) == (m.symbol, "10.0.0.7:22")
    assert m.ok("GET", f"/v1/listings/{ready}/access", "cloud") == [attached]
    other = {**ahead, "symbol": "H100-2027-M01"}
    assert_problem(
        m.call("POST", f"/v1/listings/{ready}/access", "cloud", json=other), 400, "invalid_request"
    )
    assert_problem(m.call("POST", "/v1/listings/999/access", "cloud", json=ahead), 404, "not_found")
    assert_problem(m.call("POST", f"/v1/listings/{ready}/access", "alice", json=ahead), 403, "forbidden")
    # the buyer sees provider, region, GPUs, window, escrow and the handle before the start
    upcoming = m.ok("GET", "/v1/deliveries/upcoming", "alice")
    assert [(u["listing_id"], u["gpus"], u["access_handle"], u["alert"] is None) for u in upcoming] == [
        (ready, 2, "ssh://h100-1.eu-west.cloud", True),
        (late, 2, None, False),
    ]
    assert {(u["provider_id"], u["region"], u["window_start"][:10]) for u in upcoming} == {
        (m.ids["cloud"], "eu-west", WEEK.date().isoformat())
    }
    assert [Decimal(u["escrow"]) for u in upcoming] == [2 * 2 * 168] * 2
    assert m.ok("GET", "/v1/deliveries/upcoming", "cloud") == upcoming
    assert m.ok("GET", "/v1/deliveries/upcoming", "bob") == []

    with (
        m.client.websocket_connect("/v1/stream") as ws_cloud,
        m.client.websocket_connect("/v1/stream") as ws_alice,
    ):
        cloud, alice = _listen(ws_cloud, m.keys["cloud"]), _listen(ws_alice, m.keys["alice"])
        m.clock.now = WEEK + timedelta(minutes=1)
        m.ok("POST", "/v1/admin/settle", "admin")
        pushed = [cloud.take(lambda msg: msg.get("type") == "delivery")["delivery"] for _ in range(2)]
        assert [(d["listing_id"], d["alert"] is None) for d in pushed] == [(ready, True), (late, False)]
        handed = pushed[0]
        assert (handed["access_handle"], handed["endpoint"]) == ("ssh://h100-1.eu-west.cloud", "10.0.0.7:22")
        assert handed["handle_at"] < WEEK.isoformat()  # attached ahead
        to_alice = [alice.take(lambda msg: msg.get("type") == "delivery")["delivery"] for _ in range(2)]
        assert to_alice == pushed
        # after the start a handle goes on the record, not ahead
        closed = m.call("POST", f"/v1/listings/{ready}/access", "cloud", json=ahead)
        assert_problem(closed, 409, "delivery_day_closed")
        # no handle by start + grace: the first day of the `late` record fails, the ready one's does not
        m.clock.now = WEEK + timedelta(hours=4, minutes=1)
        assert m.ok("POST", "/v1/admin/deliveries/run", "admin")["failed"] == 1
        failed = cloud.take(lambda msg: msg.get("type") == "delivery")["delivery"]
        assert (failed["id"], failed["days"][0]["status"]) == (pushed[1]["id"], "failed")
    assert m.ok("GET", f"/v1/deliveries/{handed['id']}", "alice")["days"][0]["status"] == "pending"
    assert m.ok("GET", "/v1/deliveries/upcoming", "alice") == []
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def test_fok_and_margined_market_orders_within_means(m: Market) -> None:
    _asks_and_carol(m)
    fok = {"symbol": m.symbol, "side": "buy", "type": "market", "time_in_force": "fok"}

    # FOK is all or nothing against the book: 10 lots, 6 offered -> killed, nothing moved
    before = _cash(m, "alice")
    killed = m.ok("POST", "/v1/orders", "alice", 201, json={**fok, "quantity": 10})
    assert (killed["status"], killed["reason"], killed["filled_quantity"]) == ("expired", "fok", 0)
    assert _cash(m, "alice") == before
    # ... and against the buyer's means: 3 lots need USD 1,008 held, carol has 1,000 -> refused, nothing lost
    refused = m.call("POST", "/v1/orders", "carol", json={**fok, "quantity": 3})
    assert_problem(refused, 409, "insufficient_funds")
    assert _cash(m, "carol")["available"] == 1000
    assert m.ok("GET", "/v1/orders", "carol")["items"] == []
    filled = m.ok("POST", "/v1/orders", "carol", 201, json={**fok, "quantity": 2})
    assert (filled["status"], filled["filled_quantity"]) == ("filled", 2)
    assert _cash(m, "carol")["available"] == 1000 - 2 * 336

    # a margined (cash-settled) market order fills what the margin allows and expires the rest
    m.ok("POST", "/v1/products", "admin", 201, json={"id": "A100"})
    now = m.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [{"at": (now - timedelta(days=d)).isoformat(), "price": "1.50"} for d in range(1, 31)]
    m.ok("POST", "/v1/index/A100/fixings", "admin", 201, json={"fixings": fixings})
    cash_forward = {"type": "forward", "product": "A100", "window": "week", "start": WEEK.isoformat()}
    symbol = m.ok("POST", "/v1/instruments", "admin", 201, json={**cash_forward, "settlement": "cash"})[
        "symbol"
    ]
    m.ok("POST", "/v1/admin/remargin", "admin")
    per_lot = Decimal(m.ok("GET", f"/v1/instruments/{symbol}")["margin_per_lot"])
    assert per_lot > 0
    dave = m.ok("POST", "/v1/accounts", "admin", 201, json={"name": "dave", "roles": ["trader"]})
    m.keys["dave"] = dave["api_key"]
    deposit = 2 * per_lot + per_lot / 2
    m.ok(
        "POST", f"/v1/accounts/{dave['account']['id']}/deposits", "admin", 201, json={"amount": str(deposit)}
    )
    m.ok(
        "POST",
        "/v1/orders",
        "bob",
        201,
        json={"symbol": symbol, "side": "sell", "quantity": 5, "price": "1.500"},
    )
    market_buy = {"symbol": symbol, "side": "buy", "type": "market", "quantity": 5}
    assert_problem(
        m.call("POST", "/v1/orders", "dave", json={**market_buy, "time_in_force": "fok"}),
        409,
        "insufficient_funds",
    )
    assert _cash(m, "dave")["available"] == deposit
    order = m.ok("POST", "/v1/orders", "dave", 201, json=market_buy)
    assert (order["quantity"], order["filled_quantity"], order["status"], order["reason"]) == (
        5,
        2,
        "expired",
        "insufficient_funds",
    )
    dave_cash = _cash(m, "dave")
    assert (dave_cash["available"], dave_cash["margin"]) == (per_lot / 2, 2 * per_lot)
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def _pnl(m: Market, who: str) -> tuple[Decimal, Decimal, Decimal]:
    """Sum of realised and unrealised P&L over the account's positions, open and closed, and the value
    of what it holds at the mark not yet in its cash (USD): a paid-for position's value; a margined
    one's (a futures-style option here) value less its cost and the variation it has received."""
    total = value = fees = Decimal(0)
    for state in ("open", "closed"):
        for p in m.ok("GET", f"/v1/positions?state={state}", who)["items"]:
            total += Decimal(p["realised_pnl"]) + Decimal(p["unrealised_pnl"])
            fees += Decimal(p["fees"])
            if p["state"] == "open" and p["quantity"]:
                value += p["quantity"] * Decimal(p["mark"]) * 24  # a day forward: 24 GPU-hours a lot
                if "-C" in p["symbol"]:  # margined: only what variation has not paid yet
                    value -= Decimal(p["cost"]) + Decimal(p["variation"])
    return total, value, fees


def test_pnl_with_fees_and_option_payoff_reconciles_with_the_ledger(m: Market) -> None:
    day = WEEK + timedelta(days=1)
    now = m.clock().replace(minute=0, second=0, microsecond=0)
    history = [{"at": (now - timedelta(days=d)).isoformat(), "price": "2.00"} for d in range(1, 31)]
    fees = {"maker_fee_ppm": 1000, "taker_fee_ppm": 2000}
    forward = {"type": "forward", "product": "H100", "window": "day", "start": day.isoformat(), **fees}
    symbol = m.ok("POST", "/v1/instruments", "admin", 201, json=forward)["symbol"]
    cash_day = {**forward, "start": (day + timedelta(days=1)).isoformat(), "settlement": "cash"}
    underlying = m.ok("POST", "/v1/instruments", "admin", 201, json=cash_day)["symbol"]
    call = {"type": "option", "underlying": underlying, "option_kind": "call", "strike": "3.000"}
    option = m.ok("POST", "/v1/instruments", "admin", 201, json=call)["symbol"]
    m.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": history})
    m.ok("POST", "/v1/admin/remargin", "admin")  # marks and margins
    end = (WEEK + timedelta(days=7)).isoformat()
    listing = {"product": "H100", "gpus": 4, "start": WEEK.isoformat(), "end": end}
    m.ok("POST", "/v1/listings", "cloud", 201, json=listing)
    start_cash = _cash(m, "alice")["cash"]

    def trade(seller: str, buyer: str, on: str, qty: int, price: str) -> None:
        ask = {"symbol": on, "side": "sell", "quantity": qty, "price": price}
        m.ok("POST", "/v1/orders", seller, 201, json=ask)
        assert m.ok("POST", "/v1/orders", buyer, 201, json={**ask, "side": "buy"})["status"] == "filled"

    trade("cloud", "alice", symbol, 3, "2.000")  # alice takes: 2,000 ppm of USD 144
    trade("alice", "bob", symbol, 1, "2.300")  # alice's resale, as maker: 1,000 ppm of USD 55.20
    trade("bob", "alice", option, 2, "0.100")  # bob writes the call, alice takes it: 2,000 ppm of 4.80
    total, value, paid = _pnl(m, "alice")
    assert paid == Decimal("0.288") + Decimal("0.0552") + Decimal("0.0096")
    due = Decimal("0.0096")  # the option's fee (futures-style, like a cash forward's) falls due at expiry
    assert total == _cash(m, "alice")["cash"] - start_cash + value - due  # to the micro-dollar

    # the call expires out of the money (forward 2.00 < strike 3.00): alice realises the price lost
    m.clock.now = WEEK + timedelta(hours=1)  # two business days before the cash day's window
    assert option in m.ok("POST", "/v1/admin/settle", "admin")["exercised"]
    (expired,) = [
        p for p in m.ok("GET", "/v1/positions?state=closed", "alice")["items"] if p["symbol"] == option
    ]
    assert (Decimal(expired["realised_pnl"]), Decimal(expired["unrealised_pnl"])) == (
        -2 * Decimal("0.1") * 24 - Decimal("0.0096"),
        0,
    )
    total, value, _ = _pnl(m, "alice")
    assert value == 2 * Decimal(m.ok("GET", "/v1/positions", "alice")["items"][0]["mark"]) * 24
    assert total == _cash(m, "alice")["cash"] - start_cash + value  # every P&L micro-dollar is a cash one
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}
