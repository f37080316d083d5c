"""Securitised pools over HTTP, on SQLite and PostgreSQL: form a pool, trade its notes, report usage,
service a period, read the report; refusals are problem details naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import Market

POOL = {
    "code": "GPUABS1",
    "name": "GPU capacity 2027-1",
    "periods": 1,
    "notes": [
        {"tranche": "A", "face": "2000", "coupon": "0.06", "oc_trigger": "1.05"},
        {"tranche": "B", "face": "1000", "coupon": "0.12"},
    ],
    "fees_fixed": "5",
    "reserve_initial": "50",
    "reserve_target": "50",
    "lot_face": "100",
}


def test_pool_lifecycle_over_http(any_market: Market) -> None:
    m = any_market
    start = datetime.fromisoformat(m.window[0])
    m.ok("POST", f"/v1/accounts/{m.ids['provider']}/deposits", "admin", 201, json={"amount": "5000"})
    sell = {"symbol": m.symbol, "side": "sell", "quantity": 4, "price": "2.000"}
    m.ok("POST", "/v1/orders", "provider", 201, json=sell)
    m.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})
    body = {**POOL, "listing_ids": [int(m.ids["listing"])], "start": m.window[0]}
    assert m.call("POST", "/v1/pools", "trader", json=body).status_code == 403
    bad = m.call("POST", "/v1/pools", "provider", json={**body, "fees_rate": "x"})
    assert bad.status_code == 400, bad.text
    assert bad.json()["errors"][0]["field"] == "fees_rate"
    odd = m.call("POST", "/v1/pools", "provider", json={**body, "notes": [{"tranche": "A", "face": "150"}]})
    assert odd.status_code == 400
    assert odd.json()["errors"][0]["field"] == "notes[0].face"
    assert m.call("POST", "/v1/pools", "provider", json={**body, "listing_ids": [999]}).status_code == 404
    pool = m.ok("POST", "/v1/pools", "provider", 201, json=body)
    assert [(n["symbol"], n["lots"], n["balance"]) for n in pool["notes"]] == [
        ("GPUABS1-A", 20, "2000.000000"),
        ("GPUABS1-B", 10, "1000.000000"),
    ]
    assert pool["reserve"] == "50.000000"
    assert m.call("POST", "/v1/pools", "provider", json=body).status_code == 409
    note = m.ok("GET", "/v1/instruments/GPUABS1-A", "trader")
    assert (note["kind"], note["tick"], note["face_per_lot"]) == ("note", "0.01", "100.000000")
    m.ok(
        "POST",
        "/v1/orders",
        "provider",
        201,
        json={"symbol": "GPUABS1-A", "side": "sell", "quantity": 8, "price": "99.50"},
    )
    m.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": "GPUABS1-A", "side": "buy", "quantity": 8, "price": "99.50"},
    )
    short = m.call(
        "POST",
        "/v1/orders",
        "trader2",
        json={"symbol": "GPUABS1-A", "side": "sell", "quantity": 1, "price": "99"},
    )
    assert short.status_code == 409, short.text
    pool_id = pool["id"]
    m.clock.now = start + timedelta(hours=1)
    m.ok("POST", "/v1/admin/settle", "admin")
    for delivery in m.ok("GET", "/v1/deliveries", "provider")["items"]:
        m.ok("POST", f"/v1/deliveries/{delivery['id']}/access", "provider", json={"handle": "ssh://h100"})
    usage = {"period": 0, "gpu_hours": 1000}
    assert m.call("POST", f"/v1/pools/{pool_id}/usage", "provider2", json=usage).status_code == 403
    assert m.ok("POST", f"/v1/pools/{pool_id}/usage", "provider", json=usage) == usage
    assert m.ok("POST", f"/v1/admin/pools/{pool_id}/service", "admin") == {"serviced": []}  # not yet due
    end = datetime.fromisoformat(m.window[1])
    fixings = [{"at": (start + timedelta(days=d)).isoformat(), "price": "2.5"} for d in range(28)]
    m.clock.now = end - timedelta(hours=1)
    m.ok("POST", "/v1/admin/deliveries/run", "admin")  # days past their dispute window: escrow paid
    m.clock.now = end + timedelta(minutes=1)
    m.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings})
    served = m.ok("POST", "/v1/admin/pools/service", "admin")
    assert served == {"serviced": [{"pool": "GPUABS1", "period": 0}]}
    report = m.ok("GET", f"/v1/pools/{pool_id}/report", "trader")
    (period,) = report["periods"]
    hours = int((end - start).total_seconds()) // 3600
    assert period["escrow"] == f"{4 * (hours - 48) * 2}.000000"  # the last two days are still open
    assert period["index"] == "2.500000"
    assert period["index_revenue"] == "2500.000000"
    assert report["conservation"]["balanced"] is True
    assert report["pool"]["status"] == "retired"
    paid = {(p["symbol"], p["account_id"]): p for p in report["payments"]}
    trader = paid["GPUABS1-A", m.ids["trader"]]
    assert trader["lots"] == 8
    assert trader["principal"] == "800.000000"
    assert [n["writedown"] for n in report["pool"]["notes"]] == ["0.000000", "0.000000"]
    assert m.ok("GET", "/v1/pools", "trader2")["items"][0]["code"] == "GPUABS1"
    assert m.call("GET", "/v1/pools/999", "trader").status_code == 404
    assert m.call("GET", "/v1/pools").status_code == 401
    assert m.ok("GET", "/v1/admin/check", "admin") == {"ok": True, "breaches": []}
