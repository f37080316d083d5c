"""Through delivery: trade a day forward, move the exchange clock past delivery start, settle, and see
the delivery records -- each party sees its own, nobody else's -- and the instrument closed."""

from __future__ import annotations

from datetime import datetime, timedelta

from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, make_client
from tests.api.test_routes import assert_problem


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_trade_settle_and_deliver(sqlite_url: str) -> None:
    clock = Clock(API_NOW)
    engine = db.make_engine(sqlite_url)
    admin = {
        "Authorization": f"Bearer {Exchange(engine, clock=clock).create_account('ops', ['admin']).api_key}"
    }
    engine.dispose()
    with make_client(sqlite_url, clock=clock) as client:
        keys, ids = {}, {}
        for name, role in (("cloud", "provider"), ("lab", "trader"), ("other", "trader")):
            created = client.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=admin).json()
            keys[name] = {"Authorization": f"Bearer {created['api_key']}"}
            ids[name] = created["account"]["id"]
        client.post(f"/v1/accounts/{ids['lab']}/deposits", json={"amount": "1000"}, headers=admin)
        client.post("/v1/products", json={"id": "H100"}, headers=admin)
        day = (clock.now + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
        forward = client.post(
            "/v1/instruments",
            headers=admin,
            json={"type": "forward", "product": "H100", "window": "day", "start": day.isoformat()},
        )
        symbol = forward.json()["symbol"]
        client.post(
            "/v1/listings",
            headers=keys["cloud"],
            json={
                "product": "H100",
                "gpus": 4,
                "start": day.isoformat(),
                "end": (day + timedelta(days=1)).isoformat(),
            },
        )
        order = {"symbol": symbol, "side": "sell", "quantity": 2, "price": "2.000"}
        assert client.post("/v1/orders", json=order, headers=keys["cloud"]).status_code == 201
        bought = client.post("/v1/orders", json={**order, "side": "buy"}, headers=keys["lab"]).json()
        assert bought["status"] == "filled"
        assert client.get("/v1/deliveries", headers=keys["lab"]).json()["items"] == []

        clock.now = day + timedelta(hours=1)
        report = client.post("/v1/admin/settle", headers=admin).json()
        assert symbol in report["delivered"]
        for who in ("lab", "cloud"):
            (delivery,) = client.get("/v1/deliveries", headers=keys[who]).json()["items"]
            assert (delivery["symbol"], delivery["gpus"], delivery["buyer_id"], delivery["provider_id"]) == (
                symbol,
                2,
                ids["lab"],
                ids["cloud"],
            )
        assert client.get("/v1/deliveries", headers=keys["other"]).json()["items"] == []
        assert client.get(f"/v1/instruments/{symbol}", headers=admin).json()["status"] != "open"
        late = client.post("/v1/orders", json={**order, "side": "buy", "quantity": 1}, headers=keys["lab"])
        assert_problem(late, 409, "instrument_not_open")
        assert client.get("/v1/admin/check", headers=admin).json() == {"ok": True, "breaches": []}
