"""Ticker, quote, candles, the index and settlement over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.controllers.market_data import candles_of
from market.records import TradeInfo
from tests.api.conftest import Market
from tests.api.test_routes import assert_problem


def _trade_at(market: Market, price: str, quantity: int) -> None:
    market.ok(
        "POST",
        "/v1/orders",
        "provider",
        201,
        json={"symbol": market.symbol, "side": "sell", "quantity": quantity, "price": price},
    )
    market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": market.symbol, "side": "buy", "quantity": quantity, "price": price},
    )


def _fixings(market: Market, count: int = 48) -> None:
    now = market.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [
        {"at": (now - timedelta(hours=count - i)).isoformat(), "price": f"{2.4 + 0.01 * (i % 5):.2f}"}
        for i in range(count)
    ]
    added = market.ok(
        "POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings, "source": "feed"}
    )
    assert added == {"added": count, "revised": 0}
    again = market.ok(
        "POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings, "source": "feed"}
    )
    assert again == {"added": 0, "revised": 0}


def test_ticker_and_candles_follow_trades(market: Market) -> None:
    ticker = market.ok("GET", f"/v1/instruments/{market.symbol}/ticker")
    assert ticker == {
        "symbol": market.symbol,
        "best_bid": None,
        "best_ask": None,
        "last": None,
        "volume_24h": 0,
        "mark": None,
    }
    _trade_at(market, "2.500", 2)
    _trade_at(market, "2.600", 1)
    _trade_at(market, "2.400", 3)
    market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": market.symbol, "side": "buy", "quantity": 1, "price": "2.300"},
    )
    ticker = market.ok("GET", f"/v1/instruments/{market.symbol}/ticker")
    assert (ticker["best_bid"], ticker["best_ask"], ticker["last"], ticker["volume_24h"]) == (
        "2.300",
        None,
        "2.400",
        6,
    )
    (candle,) = market.ok("GET", f"/v1/instruments/{market.symbol}/candles?interval=1d")["items"]
    assert (candle["open"], candle["high"], candle["low"], candle["close"], candle["volume"]) == (
        "2.500",
        "2.600",
        "2.400",
        "2.400",
        6,
    )
    later = market.clock() + timedelta(hours=1)
    window = f"start={later.isoformat()}&end={(later + timedelta(hours=2)).isoformat()}".replace(
        "+00:00", "Z"
    )
    empty = market.ok("GET", f"/v1/instruments/{market.symbol}/candles?interval=1h&{window}")
    assert empty == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        "interval=2h",
        "interval=1m&start=2020-01-01T00:00:00Z",
        "start=2030-01-02T00:00:00Z&end=2030-01-01T00:00:00Z",
        "start=yesterday",
    ],
)
def test_candle_parameters_are_validated(market: Market, query: str) -> None:
    assert market.call("GET", f"/v1/instruments/{market.symbol}/candles?{query}").status_code == 400


def test_candles_group_by_utc_interval() -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    trades = [
        TradeInfo(i, "X", p, q, "buy", 1000, start + timedelta(minutes=m))
        for i, (p, q, m) in enumerate([(2000, 1, 0), (2100, 2, 59), (1900, 1, 60), (2050, 4, 185)], 1)
    ]
    candles = candles_of(trades, timedelta(hours=1))
    assert all(c.start.minute == 0 for c in candles)
    assert [(c.start.hour, c.open, c.high, c.low, c.close, c.volume) for c in candles] == [
        (0, "2.000", "2.100", "2.000", "2.100", 3),
        (1, "1.900", "1.900", "1.900", "1.900", 1),
        (3, "2.050", "2.050", "2.050", "2.050", 4),
    ]


def test_quote_needs_fixings_then_prices_the_forward(market: Market) -> None:
    assert_problem(market.call("GET", f"/v1/instruments/{market.symbol}/quote"), 400, "no_mark")
    _fixings(market)
    quote = market.ok("GET", f"/v1/instruments/{market.symbol}/quote")
    assert quote["model"]["type"] == "gbm"
    assert 2.3 < float(quote["fair_value"]) < 2.5  # driftless: the forward is the last fixing
    assert set(quote["greeks"]) >= {"delta", "vega"}
    assert market.ok("GET", f"/v1/instruments/{market.symbol}/ticker")["mark"] == quote["fair_value"]


def test_index_pages_and_validation(market: Market) -> None:
    _fixings(market, 5)
    first = market.ok("GET", "/v1/index/H100?limit=3")
    second = market.ok("GET", f"/v1/index/H100?limit=3&cursor={first['next_cursor']}")
    assert len(first["items"]) == 3
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert first["items"][0]["source"] == "feed"
    bad = {"fixings": [{"at": "2027-01-01T00:00:00Z", "price": "NaN"}]}
    assert market.call("POST", "/v1/index/H100/fixings", "admin", json=bad).status_code == 400
    assert market.call("POST", "/v1/index/H100/fixings", "admin", json={"fixings": []}).status_code == 400
    good = {"fixings": [{"at": "2027-01-01T00:00:00Z", "price": "2.5"}]}
    assert_problem(market.call("POST", "/v1/index/Z999/fixings", "admin", json=good), 404, "not_found")
    assert_problem(market.call("POST", "/v1/index/H100/fixings", "trader", json=good), 403, "forbidden")
    assert_problem(market.call("POST", "/v1/index/H100/fixings", None, json=good), 401, "unauthorized")


def test_settle_is_admin_only_and_idempotent(market: Market) -> None:
    first = market.ok("POST", "/v1/admin/settle", "admin")
    assert set(first) == {"expired", "delivered", "cash_settled", "exercised"}
    assert market.ok("POST", "/v1/admin/settle", "admin") == {
        "expired": [],
        "delivered": [],
        "cash_settled": [],
        "exercised": [],
    }
    assert_problem(market.call("POST", "/v1/admin/settle", "trader"), 403, "forbidden")
    assert_problem(market.call("POST", "/v1/admin/settle"), 401, "unauthorized")
    assert_problem(market.call("GET", "/v1/admin/check", "provider"), 403, "forbidden")
