"""``/v1/hedges``: a plan executed as orders over HTTP, followed, re-planned and cancelled.

The desk runs on SQLite and PostgreSQL: a provider offers next month's H100 forward at two levels, the
index says 2.40, and a buyer executes a plan (or a forecast the exchange plans) against the offers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.cli import UserError, main
from market import db
from market.service import Exchange
from tests.api.conftest import Clock, make_client, next_month_start


@dataclass
class Desk:
    """A client over a seeded market: keys by role, the forward's symbol and hours."""

    client: TestClient
    keys: dict[str, str]
    ids: dict[str, str]
    symbol: str
    hours: int
    start: datetime
    clock: Clock

    def call(self, method: str, path: str, who: str = "buyer", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str = "buyer", status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, who, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def offer(self, lots: int, price: str) -> dict:
        body = {"symbol": self.symbol, "side": "sell", "quantity": lots, "price": price}
        return self.ok("POST", "/v1/orders", "provider", 201, json=body)


def open_desk(url: str, clock: Clock | None = None, cash: str = "1000000") -> Iterator[Desk]:
    """Seed accounts, the product, next month's physical forward (40 GPUs listed), index fixings at
    2.40, and offers of 4 GPUs at 2.450 and 4 at 2.500."""
    engine = db.make_engine(url)
    admin = Exchange(engine).create_account("ops", ["admin"]).api_key
    engine.dispose()
    clock = clock or Clock()
    with make_client(url, clock=clock) as client:
        desk = Desk(client, {"admin": admin}, {}, "", 0, clock(), clock)
        for name, role in (("provider", "provider"), ("buyer", "trader"), ("small", "trader")):
            created = desk.ok("POST", "/v1/accounts", "admin", 201, json={"name": name, "roles": [role]})
            desk.keys[name], desk.ids[name] = created["api_key"], created["account"]["id"]
        for name, amount in (("buyer", cash), ("small", "5000")):
            desk.ok("POST", f"/v1/accounts/{desk.ids[name]}/deposits", "admin", 201, json={"amount": amount})
        desk.ok("POST", "/v1/products", "admin", 201, json={"id": "H100", "description": "H100 SXM"})
        start = next_month_start(clock())
        body = {"type": "forward", "product": "H100", "window": "month", "start": start.isoformat()}
        forward = desk.ok("POST", "/v1/instruments", "admin", 201, json=body)
        desk.symbol, desk.hours, desk.start = forward["symbol"], forward["hours"], start
        listing = {
            "product": "H100",
            "gpus": 40,
            "start": forward["window_start"],
            "end": forward["window_end"],
        }
        desk.ok("POST", "/v1/listings", "provider", 201, json=listing)
        now = clock().replace(minute=0, second=0, microsecond=0)
        fixings = [{"at": (now - timedelta(hours=k)).isoformat(), "price": "2.40"} for k in range(1, 13)]
        desk.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings})
        desk.offer(4, "2.450")
        desk.offer(4, "2.500")
        yield desk


@pytest.fixture
def desk(sqlite_url: str) -> Iterator[Desk]:
    yield from open_desk(sqlite_url)


def _execute(desk: Desk, gpus: int, who: str = "buyer", status: int = 201, **extra: Any) -> dict:
    body = {"positions": [{"symbol": desk.symbol, "gpus": gpus}], "max_slippage_bps": 500, **extra}
    return desk.ok("POST", "/v1/hedges", who, status, json=body)


def test_a_plan_becomes_orders_and_is_tracked_until_filled(db_url: str) -> None:
    for desk in open_desk(db_url):
        hedge = _execute(desk, 10)
        assert hedge["status"] == "working"
        assert hedge["rounds"] == 1
        (order,) = hedge["orders"]
        assert order["limit_price"] == "2.520"  # 8 offered below the cap 2.40 x 1.05: the rest rests at it
        assert order["order"]["filled_quantity"] == 8
        assert order["order"]["open_quantity"] == 2
        (leg,) = hedge["legs"]
        assert (leg["target_quantity"], leg["filled_quantity"], leg["open_quantity"]) == (10, 8, 2)
        assert leg["cost"] == f"{(4 * 2.45 + 4 * 2.5) * desk.hours:.6f}"
        assert hedge["remaining_gpu_hours"] == 2 * desk.hours
        assert float(hedge["reserved"]) >= 2 * 2.52 * desk.hours

        desk.offer(2, "2.510")  # a seller meets the resting bid: the hedge fills
        done = desk.ok("GET", f"/v1/hedges/{hedge['id']}")
        assert done["status"] == "filled"
        assert done["remaining_gpu_hours"] == 0
        assert done["legs"][0]["filled_quantity"] == 10
        assert done["reserved"] == "0.000000"
        assert float(done["cost"]) == pytest.approx((4 * 2.45 + 4 * 2.5 + 2 * 2.52) * desk.hours)
        assert desk.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}


def test_the_same_key_returns_the_first_hedge_even_after_a_restart(db_url: str) -> None:
    clock = Clock()
    body = {"positions": [{"symbol": "", "gpus": 3}], "max_slippage_bps": 500}
    for desk in open_desk(db_url, clock):
        body["positions"][0]["symbol"] = desk.symbol
        first = desk.ok("POST", "/v1/hedges", json=body, headers={"Idempotency-Key": "k1"}, status=201)
        keys = desk.keys
    with make_client(db_url, clock=clock) as client:  # a new process: only the database remembers
        again = client.post("/v1/hedges", json=body, headers={"Authorization": f"Bearer {keys['buyer']}",
                                                              "Idempotency-Key": "k1"})  # fmt: skip
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first["id"]
        assert len(again.json()["orders"]) == 1
        body["positions"][0]["gpus"] = 4
        reused = client.post("/v1/hedges", json=body, headers={"Authorization": f"Bearer {keys['buyer']}",
                                                               "Idempotency-Key": "k1"})  # fmt: skip
        assert reused.status_code == 409
        assert reused.json()["code"] == "idempotency_key_reused"
        orders = client.get("/v1/orders", headers={"Authorization": f"Bearer {keys['buyer']}"}).json()
        assert len(orders["items"]) == 1


def test_the_accounts_means_refuse_or_scale_the_hedge(desk: Desk) -> None:
    refused = desk.call(
        "POST", "/v1/hedges", "small", json={"positions": [{"symbol": desk.symbol, "gpus": 6}]}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_funds"
    assert refused.json()["errors"][0]["field"] == "positions"
    assert "5000.000000 available" in refused.json()["detail"]
    assert desk.ok("GET", "/v1/orders", "small")["items"] == []
    scaled = _execute(desk, 6, "small", means="scale")
    lots = scaled["legs"][0]["target_quantity"]
    assert scaled["legs"][0]["planned_quantity"] == 6
    assert 0 < lots < 6
    assert 2.45 * desk.hours * lots <= 5000 < 2.45 * desk.hours * (lots + 1) * 1.01
    assert 0 < float(scaled["scale"]) < 1
    assert scaled["status"] == "filled"


def test_cancel_and_replan_move_the_state(desk: Desk) -> None:
    hedge = _execute(desk, 12)
    assert hedge["status"] == "working"
    replanned = desk.ok("POST", f"/v1/hedges/{hedge['id']}/replan", json={"max_slippage_bps": 300})
    assert replanned["rounds"] == 2
    assert replanned["max_slippage_bps"] == 300
    first, second = replanned["orders"]
    assert first["order"]["status"] == "cancelled"
    assert first["order"]["filled_quantity"] == 8
    fair = Decimal(desk.ok("GET", f"/v1/instruments/{desk.symbol}/quote")["fair_value"])
    cap = (fair * Decimal("1.03")).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)  # no offer left: the cap
    assert (second["round"], second["quantity"], Decimal(second["limit_price"])) == (2, 4, cap)
    assert replanned["legs"][0]["target_quantity"] == 12
    assert replanned["status"] == "working"

    cancelled = desk.ok("DELETE", f"/v1/hedges/{hedge['id']}")
    assert cancelled["status"] == "cancelled"
    assert cancelled["reserved"] == "0.000000"
    assert cancelled["orders"][1]["order"]["status"] == "cancelled"
    assert desk.ok("DELETE", f"/v1/hedges/{hedge['id']}")["status"] == "cancelled"  # harmless twice
    again = desk.call("POST", f"/v1/hedges/{hedge['id']}/replan", json={})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "hedge_id"
    assert desk.call("GET", f"/v1/hedges/{hedge['id']}", "small").status_code == 404


def test_hedges_are_listed_in_pages(desk: Desk) -> None:
    made = [_execute(desk, 1)["id"] for _ in range(3)]
    page = desk.ok("GET", "/v1/hedges", params={"limit": 2})
    assert [h["id"] for h in page["items"]] == made[:2]
    assert page["next_cursor"]
    rest = desk.ok("GET", "/v1/hedges", params={"limit": 2, "cursor": page["next_cursor"]})
    assert [h["id"] for h in rest["items"]] == made[2:]
    assert rest["next_cursor"] is None
    assert desk.ok("GET", "/v1/hedges", "small")["items"] == []


def _forecast(desk: Desk, days: int, usage: float = 96.0, **change: Any) -> dict:
    rows = [
        {"product": "H100", "start": (desk.start + timedelta(days=d)).isoformat(), "usage": usage}
        for d in range(days)
    ]
    rows[0] |= change
    return {"resolution": "day", "usage": rows}


def test_the_exchange_plans_a_forecast_and_replans_what_is_left(desk: Desk) -> None:
    days = desk.hours // 24
    plan = {"forecast": _forecast(desk, days), "scenarios": 200}
    hedge = desk.ok("POST", "/v1/hedges", status=201, json={"plan": plan, "max_slippage_bps": 500})
    assert hedge["source"] == "forecast"
    (leg,) = hedge["legs"]
    assert leg["planned_quantity"] == 4  # 96 GPU-h a day is 4 GPUs every hour: the month forward locks it
    assert hedge["expected_usage_gpu_hours"] == pytest.approx(96.0 * days)
    assert hedge["unhedged_gpu_hours"] == pytest.approx(0.0, abs=1e-6)
    assert hedge["plan"]["positions"][0]["symbol"] == desk.symbol
    assert hedge["status"] == "filled"

    replanned = desk.ok("POST", f"/v1/hedges/{hedge['id']}/replan", json={})
    assert replanned["legs"][0]["target_quantity"] == 4
    assert replanned["rounds"] == 2
    assert all(o["round"] == 1 for o in replanned["orders"])  # the plan wants what is held: no new order

    desk.clock.now = desk.start + timedelta(days=2, hours=1)  # the month delivers: it is sold no more
    later = desk.ok("POST", f"/v1/hedges/{hedge['id']}/replan", json={})
    assert later["rounds"] == 3
    assert later["legs"][0]["filled_quantity"] == 4
    assert later["expected_usage_gpu_hours"] == pytest.approx(96.0 * (days - 3))
    assert all(o["round"] == 1 for o in later["orders"])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"positions": [{"symbol": "H100-2031-01", "gpus": 1}]}, 404, "positions[0].symbol"),
        ({"positions": [{"symbol": "SYMBOL", "gpus": 0}]}, 400, "positions[0].gpus"),
        ({}, 400, "positions"),
        (
            {"positions": [{"symbol": "SYMBOL", "gpus": 1}, {"symbol": "SYMBOL", "gpus": 2}]},
            400,
            "positions[1].symbol",
        ),
        ({"positions": [{"symbol": "SYMBOL", "gpus": 1}], "max_slippage_bps": 9999}, 400, "max_slippage_bps"),
        ({"positions": [{"symbol": "SYMBOL", "gpus": 1}], "means": "hope"}, 400, "means"),
        ({"plan": {"forecast": "FORECAST", "alpha": 1.5}}, 400, "plan.alpha"),
        ({"plan": {"forecast": "FORECAST", "budget": "-5"}}, 400, "plan.budget"),
    ],
)
def test_bad_requests_name_the_field(desk: Desk, body: dict, status: int, field: str) -> None:
    for position in body.get("positions", []):
        position["symbol"] = position["symbol"].replace("SYMBOL", desk.symbol)
    if "plan" in body:
        body["plan"]["forecast"] = _forecast(desk, 2)
    response = desk.call("POST", "/v1/hedges", json=body)
    assert response.status_code == status, response.text
    assert field in [e["field"] for e in response.json().get("errors", [])], response.json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"usage": -5.0}, "plan.forecast[0].usage"),
        ({"product": "Z9"}, "plan.forecast[0].product"),
        ({"start": "2020-01-01T00:00:00Z"}, "plan.forecast[0].start"),
    ],
)
def test_bad_forecasts_name_the_field(desk: Desk, change: dict, field: str) -> None:
    plan = {"forecast": _forecast(desk, 3, **change), "scenarios": 100}
    response = desk.call("POST", "/v1/hedges", json={"plan": plan})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field, response.json()


def test_quantiles_out_of_order_name_the_field(desk: Desk) -> None:
    forecast = _forecast(desk, 2)
    for row in forecast["usage"]:
        del row["usage"]
        row["quantiles"] = {"0.1": 90.0, "0.5": 80.0, "0.9": 120.0}
    response = desk.call("POST", "/v1/hedges", json={"plan": {"forecast": forecast}})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"].startswith("plan.forecast[0].quantiles"), response.json()


def test_the_cli_executes_shows_replans_and_cancels(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def send(base: str, method: str, path: str, api_key: str, body: Any = None, headers: Any = None) -> Any:
        auth = {"Authorization": f"Bearer {api_key}", **(headers or {})}
        response = desk.client.request(method, path, json=body, headers=auth)
        if response.status_code >= 400:
            raise UserError(f"{response.json()['code']}: {response.json()['detail']}")
        return response.json()

    monkeypatch.setattr("api.cli.hedge.send_json", send)
    plan = tmp_path / "plan.json"  # as ``flopex hedge plan --out`` writes it (more keys than execute reads)
    plan.write_text(
        json.dumps({"positions": [{"symbol": desk.symbol, "gpus": 10, "ask": 2.5, "kind": "forward"}]})
    )
    key = ["--api-key", desk.keys["buyer"], "--url", "http://desk"]
    run = CliRunner().invoke
    made = run(
        main, ["hedge", "execute", str(plan), *key, "--max-slippage-bps", "500", "--idempotency-key", "c1"]
    )
    assert made.exit_code == 0, made.output
    assert "hedge 1: working" in made.output
    assert "8 filled" not in made.output
    assert f"{desk.symbol}" in made.output
    assert "buy 10 @ 2.520: partially_filled" in made.output
    again = run(
        main, ["hedge", "execute", str(plan), *key, "--max-slippage-bps", "500", "--idempotency-key", "c1"]
    )
    assert "hedge 1: working" in again.output
    listed = run(main, ["hedge", "show", *key])
    assert listed.output.count("hedge ") == 1
    assert "working" in listed.output
    replanned = run(main, ["hedge", "replan", "1", *key, "--json"])
    assert json.loads(replanned.output)["rounds"] == 2
    cancelled = run(main, ["hedge", "cancel", "1", *key])
    assert "hedge 1: cancelled" in cancelled.output
    refused = run(main, ["hedge", "replan", "1", *key])
    assert refused.exit_code == 1
    assert "conflict" in refused.output
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    assert "no positions to execute" in run(main, ["hedge", "execute", str(empty), *key]).output
    forecast = tmp_path / "usage.json"
    forecast.write_text(json.dumps(_forecast(desk, 2, usage=-1.0)))
    bad = run(main, ["hedge", "execute", str(forecast), "--forecast", *key])
    assert bad.exit_code == 1
    assert "usage" in bad.output


def test_a_hedge_announces_its_orders_on_the_stream(desk: Desk) -> None:
    from tests.api.test_stream import Inbox

    with desk.client.websocket_connect("/v1/stream") as ws:
        inbox = Inbox(ws)
        ws.send_json({"op": "auth", "key": desk.keys["buyer"]})
        inbox.take(lambda m: m.get("type") == "authenticated")
        ws.send_json({"op": "subscribe", "channels": ["orders", f"book.{desk.symbol}"]})
        inbox.take(lambda m: m.get("type") == "snapshot")
        hedge = _execute(desk, 10)
        mine = inbox.take(lambda m: m.get("channel") == "orders")
        assert mine["order"]["id"] == hedge["orders"][0]["order"]["id"]
        assert mine["order"]["status"] == "partially_filled"
        book = inbox.take(lambda m: m.get("channel") == f"book.{desk.symbol}")
        assert book["bids"] == [["2.520", 2]]
        assert book["asks"] == [["2.450", 0], ["2.500", 0]]  # a delta: both offer levels are gone
        desk.ok("DELETE", f"/v1/hedges/{hedge['id']}")
        cancelled = inbox.take(lambda m: m.get("channel") == "orders")
        assert cancelled["order"]["status"] == "cancelled"


def test_an_hourly_forecast_larger_than_other_bodies_is_planned(desk: Desk) -> None:
    rows = [
        {"product": "H100", "start": (desk.start + timedelta(hours=h)).isoformat(),
         "quantiles": {"0.1": 3.0, "0.5": 4.0, "0.9": 5.0}}
        for h in range(desk.hours)
    ]  # fmt: skip
    plan = {"forecast": {"resolution": "hour", "usage": rows}, "scenarios": 100}
    body = {"plan": plan, "max_slippage_bps": 500}
    assert len(json.dumps(body)) > 64 * 1024  # past the 64 KiB of every other POST
    hedge = desk.ok("POST", "/v1/hedges", status=201, json=body, headers={"Idempotency-Key": "hourly"})
    assert hedge["legs"][0]["symbol"] == desk.symbol
    assert hedge["expected_usage_gpu_hours"] == pytest.approx(4.0 * desk.hours, rel=0.05)  # 100 scenarios
