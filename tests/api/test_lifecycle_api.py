"""The lifecycle inside the API: a cash forward created over HTTP trades as soon as its product has a
fixing, without anyone calling an admin endpoint; the duties show in /v1/admin/jobs; a stale index is
flagged in the quote and in /health, never turned into no_mark."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from api import context
from market import db
from market.lifecycle.schedule import SeriesPlan
from market.service import Exchange
from tests.api.conftest import Clock, make_client, next_month_start


def test_http_cash_forward_trades_once_its_product_has_a_fixing(
    sqlite_url: str, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "MARK_SECONDS", 0.0)  # quotes are re-priced on every request
    clock = Clock()
    engine = db.make_engine(sqlite_url)
    ex = Exchange(engine, clock=clock)
    ex.create_product("A100")
    # nothing rolled by the lifecycle: the forward is the one created over HTTP below (a roll racing
    # the POST would list the same month first and answer it 409)
    ex.set_product_schedule("A100", SeriesPlan(settlement="cash", months=0, weeks=0, days=0, option_months=0))
    engine.dispose()
    admin = {"Authorization": f"Bearer {admin_key}"}
    with make_client(sqlite_url, clock=clock, lifecycle_seconds=0.05) as client:

        def ok(method: str, path: str, status: int = 200, **kwargs: object) -> dict:
            response = client.request(method, path, headers=admin, **kwargs)
            assert response.status_code == status, response.text
            return response.json()

        created = ok("POST", "/v1/accounts", 201, json={"name": "t", "roles": ["trader"]})
        trader = {"Authorization": f"Bearer {created['api_key']}"}
        ok("POST", f"/v1/accounts/{created['account']['id']}/deposits", 201, json={"amount": "100000"})
        start = next_month_start(clock()).isoformat()
        body = {"type": "forward", "product": "A100", "window": "month", "start": start, "settlement": "cash"}
        symbol = ok("POST", "/v1/instruments", 201, json=body)["symbol"]
        order = {"symbol": symbol, "side": "buy", "quantity": 1, "price": "1.200"}
        refused = client.post("/v1/orders", headers=trader, json=order)
        assert (refused.status_code, refused.json()["code"]) == (400, "no_mark")
        at = clock.now.replace(minute=0, second=0, microsecond=0)
        fixings = [{"at": (at - timedelta(hours=h)).isoformat(), "price": "1.30"} for h in range(3)]
        ok("POST", "/v1/index/A100/fixings", 201, json={"fixings": fixings})
        deadline = time.monotonic() + 120
        while True:  # the background lifecycle re-marks on the new fixing within a pass or two
            placed = client.post("/v1/orders", headers=trader, json=order)
            if placed.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert placed.status_code == 201, placed.text
        while True:  # the pass that marked the forward records its run as it ends
            jobs = {j["name"]: j for j in ok("GET", "/v1/admin/jobs")}
            if jobs["refresh_marks"]["outcome"] == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        duties = ("fix_index", "settle", "expire_orders", "roll", "refresh_models", "refresh_marks")
        assert set(jobs) == {*duties, "remargin", "auto_offers", "service_pools", "baskets", "deliveries"}
        assert jobs["refresh_marks"]["outcome"] == "ok"
        assert jobs["refresh_marks"]["runs"] >= 1
        health = client.get("/health").json()
        assert (health["status"], health["failing_duties"], health["stale_indexes"]) == ("ok", [], [])
        quote = ok("GET", f"/v1/instruments/{symbol}/quote")
        assert quote["stale"] is False
        assert quote["index_as_of"].startswith(at.strftime("%Y-%m-%dT%H"))
        clock.now += timedelta(days=3)  # no fixing for three days: older than the default 48 hours
        quote = ok("GET", f"/v1/instruments/{symbol}/quote")
        assert quote["stale"] is True
        assert client.get("/health").json()["stale_indexes"] == ["A100"]
