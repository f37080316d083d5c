"""The open-order cap and ``GET /v1/me``'s open-order count hold for the account across shards, in
process on PostgreSQL: two shards (H100, H200) with a cap of 3 open orders per account."""

from __future__ import annotations

import pytest

from tests.api.conftest import _admin_key, make_client, seed_forward

pytestmark = pytest.mark.postgres


def test_the_open_order_cap_counts_orders_on_every_shard(postgres_url: str) -> None:
    auth = {"Authorization": f"Bearer {_admin_key(postgres_url)}"}
    with (
        make_client(postgres_url, products=("H100",), max_open_orders=3, public_url="http://one.test") as one,
        make_client(postgres_url, products=("H200",), max_open_orders=3, public_url="http://two.test") as two,
    ):
        made = one.post("/v1/accounts", json={"name": "p", "roles": ["provider"]}, headers=auth).json()
        provider = {"Authorization": f"Bearer {made['api_key']}"}
        h100, h200 = seed_forward(one, auth, "H100", provider), seed_forward(two, auth, "H200", provider)

        def sell(shard: object, symbol: str, price: str) -> object:
            order = {"symbol": symbol, "side": "sell", "quantity": 1, "price": price}
            return shard.post("/v1/orders", json=order, headers=provider)  # type: ignore[attr-defined]

        assert sell(one, h100, "3.000").status_code == 201
        assert sell(two, h200, "3.000").status_code == 201
        placed = sell(two, h200, "3.100")
        assert placed.status_code == 201
        for shard in (one, two):  # the count is the account's, wherever it is asked
            assert shard.get("/v1/me", headers=provider).json()["open_orders"] == 3
        refused = sell(one, h100, "3.200")  # two of the three rest in the other shard's book
        assert refused.status_code == 409
        assert refused.json()["code"] == "open_order_limit_exceeded"
        assert "3 open orders" in refused.json()["detail"]
        cancelled = two.delete(f"/v1/orders/{placed.json()['id']}", headers=provider)
        assert cancelled.status_code == 200, cancelled.text
        assert sell(one, h100, "3.200").status_code == 201  # room again, freed on the other shard
        assert one.get("/v1/me", headers=provider).json()["open_orders"] == 3
