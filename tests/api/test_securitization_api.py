"""``POST /v1/securitization/price``: the library's analysis over HTTP, errors as problem details."""

from __future__ import annotations

import copy
from pathlib import Path

import msgspec

from api.controllers.securitization import _check_size
from pricing.securitization import analyse, decode_deal, parse_deal
from tests.api.conftest import make_client
from tests.pricing.securitization.deals import HAND_WORKED, three_tranche

PATH = "/v1/securitization/price"


def test_price_deal_over_http_matches_the_library(sqlite_url: str, admin_key: str) -> None:
    deal = three_tranche(paths=400, periods=12)
    with make_client(sqlite_url) as client:
        headers = {"Authorization": f"Bearer {admin_key}"}
        response = client.post(PATH, json=deal, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        expected = msgspec.to_builtins(analyse(parse_deal(deal))[0])
        assert [t["price"] for t in body["tranches"]] == [t["price"] for t in expected["tranches"]]
        assert body["sensitivities"] == expected["sensitivities"]
        assert len(body["scenarios"]) == 12
        assert client.post(PATH, json=deal).status_code == 401


def test_bad_deals_are_problems_naming_the_field(sqlite_url: str, admin_key: str) -> None:
    with make_client(sqlite_url) as client:
        headers = {"Authorization": f"Bearer {admin_key}"}

        def problem(data: object) -> dict:
            response = client.post(PATH, json=data, headers=headers)
            assert response.status_code == 400, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            return response.json()

        typed = copy.deepcopy(HAND_WORKED)
        typed["tranches"][1]["coupon"] = "0.1"
        body = problem(typed)
        assert body["code"] == "validation_error"
        assert body["errors"][0]["field"] == "tranches[1].coupon"
        unknown = copy.deepcopy(HAND_WORKED)
        unknown["assets"][0]["provider"] = "nobody"
        body = problem(unknown)
        assert body["code"] == "invalid_request"
        assert body["errors"] == [{"field": "assets[0].provider", "reason": body["detail"]}]
        large = copy.deepcopy(HAND_WORKED)
        large["mc"] = {"paths": 30_000}
        body = problem(large)
        assert body["code"] == "invalid_request"
        assert body["errors"][0]["field"] == "mc.paths"
        assert "20,000" in body["detail"]


def test_the_documented_deal_fits_the_http_limits() -> None:
    """docs/api.md posts docs/deals/h100-pool.json as is: it must not be refused for its size."""
    _check_size(decode_deal((Path(__file__).parents[2] / "docs/deals/h100-pool.json").read_text()))
