"""``GET /v1/quote``: a strip quote over HTTP, and its problem documents."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import Market


def _fixings(market: Market) -> None:
    now = market.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [{"at": (now - timedelta(hours=k)).isoformat(), "price": "2.40"} for k in range(1, 13)]
    market.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings})


def test_quote_a_window_inside_the_listed_month(market: Market) -> None:
    _fixings(market)
    start = datetime.fromisoformat(market.window[0]) + timedelta(days=3, hours=9)
    params = {"product": "H100", "start": start.isoformat(), "end": (start + timedelta(hours=57)).isoformat(),
              "gpus": 8}  # fmt: skip
    quote = market.ok("GET", "/v1/quote", params=params)
    assert quote["hours"] == 57
    assert quote["fair_value"] == "2.400000"
    assert float(quote["bid"]) < 2.4 < float(quote["ask"])
    assert (
        quote["uncovered_gpu_hours"]
        + sum(leg["gpus"] * leg["hours_in_window"] for leg in quote["replication"])
        >= 8 * 57
    )
    assert quote["greeks"]["delta"] > 0.99
    assert quote["model"]["type"] == "gbm"


def test_quote_refusals_are_problems_naming_the_field(market: Market) -> None:
    _fixings(market)
    start = datetime.fromisoformat(market.window[0])
    base = {
        "product": "H100",
        "start": start.isoformat(),
        "end": (start + timedelta(days=1)).isoformat(),
        "gpus": 1,
    }
    for change, status, field in (
        ({"gpus": 0}, 400, "gpus"),
        ({"start": "2020-01-01T00:00:00Z"}, 400, "start"),
        ({"start": (start + timedelta(minutes=30)).isoformat()}, 400, "start"),
        ({"product": "Z9"}, 404, "product"),
    ):
        response = market.call("GET", "/v1/quote", params={**base, **change})
        assert response.status_code == status, response.text
        problem = response.json()
        assert problem["errors"][0]["field"] == field or field in problem["detail"], problem
