"""The core HTTP flow on every supported database (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

from litestar.testing import TestClient

from market import db
from market.service import Exchange
from tests.api.conftest import API_NOW, make_client, next_month_start


def test_provider_buyer_flow(db_url: str) -> None:
    engine = db.make_engine(db_url)
    key = Exchange(engine, clock=lambda: API_NOW).create_account("ops", ["admin"]).api_key
    admin = {"Authorization": f"Bearer {key}"}
    engine.dispose()
    client: TestClient
    with make_client(db_url) as client:
        keys = {}
        for name in ("provider", "trader"):
            created = client.post("/v1/accounts", json={"name": name, "roles": [name]}, headers=admin).json()
            keys[name] = {"Authorization": f"Bearer {created['api_key']}"}
            if name == "trader":
                client.post(
                    f"/v1/accounts/{created['account']['id']}/deposits",
                    json={"amount": "9000"},
                    headers=admin,
                )
        client.post("/v1/products", json={"id": "H100"}, headers=admin)
        forward = client.post(
            "/v1/instruments",
            headers=admin,
            json={
                "type": "forward",
                "product": "H100",
                "window": "month",
                "start": next_month_start(API_NOW).isoformat(),
            },
        ).json()
        symbol = forward["symbol"]
        listing = client.post(
            "/v1/listings",
            headers=keys["provider"],
            json={
                "product": "H100",
                "gpus": 2,
                "start": forward["window_start"],
                "end": forward["window_end"],
            },
        )
        assert listing.status_code == 201, listing.text
        sell = {"symbol": symbol, "side": "sell", "quantity": 2, "price": "2.000"}
        assert client.post("/v1/orders", json=sell, headers=keys["provider"]).status_code == 201
        buy = client.post("/v1/orders", json={**sell, "side": "buy", "quantity": 1}, headers=keys["trader"])
        assert buy.json()["status"] == "filled", buy.text
        too_much = client.post(
            "/v1/orders", json={**sell, "side": "buy", "quantity": 10}, headers=keys["trader"]
        )
        assert too_much.json()["code"] == "insufficient_funds"
        assert client.get("/v1/positions", headers=keys["trader"]).json()["items"][0]["quantity"] == 1
        assert client.get("/v1/admin/check", headers=admin).json() == {"ok": True, "breaches": []}
