"""The conventions bots expect (issue 21): aligned, paged candles; canonical symbols; rounded
decimals; server time; the fee schedule; time filters and sort order on every history."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from tests.api.conftest import Market, next_month_start
from tests.api.test_routes import assert_problem


def _trade(market: Market, price: str, quantity: int = 1, symbol: str | None = None) -> None:
    symbol = symbol or market.symbol
    sell = {"symbol": symbol, "side": "sell", "quantity": quantity, "price": price}
    market.ok("POST", "/v1/orders", "provider", 201, json=sell)
    market.ok("POST", "/v1/orders", "trader", 201, json={**sell, "side": "buy"})


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_candles_start_on_utc_boundaries_and_page(any_market: Market) -> None:
    market = any_market
    market.clock.now = market.clock.now.replace(minute=7, second=13, microsecond=676237)
    prices = ["2.500", "2.600", "2.400"]
    for price in prices:  # three hours, one trade each at hh:07:13.676
        _trade(market, price)
        market.clock.now += timedelta(hours=1)
    base = f"/v1/instruments/{market.symbol}/candles"
    page = market.ok("GET", f"{base}?interval=1h")
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    starts = [datetime.fromisoformat(c["start"]) for c in page["items"]]
    assert [c["close"] for c in page["items"]] == prices
    assert all((s.minute, s.second, s.microsecond) == (0, 0, 0) for s in starts)
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(hours=1)] * 2
    daily = market.ok("GET", f"{base}?interval=1d")["items"]
    assert len(daily) == 1
    assert datetime.fromisoformat(daily[0]["start"]).hour == 0
    assert (daily[0]["open"], daily[0]["high"], daily[0]["low"], daily[0]["close"], daily[0]["volume"]) == (
        "2.500",
        "2.600",
        "2.400",
        "2.400",
        3,
    )
    four = market.ok("GET", f"{base}?interval=4h")["items"]
    assert all(datetime.fromisoformat(c["start"]).hour % 4 == 0 for c in four)
    seen, cursor = [], None
    while True:
        query = f"{base}?interval=1h&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = market.ok("GET", query)
        seen += [c["start"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [datetime.fromisoformat(s) for s in seen] == starts
    # an unaligned start is rounded down to its boundary: the first hour's trade is included
    mid = _z(starts[0] + timedelta(minutes=30))
    assert market.ok("GET", f"{base}?interval=1h&start={mid}")["items"][0]["close"] == "2.500"
    assert_problem(market.call("GET", f"{base}?interval=1h&cursor=bogus.tag"), 400, "invalid_cursor")


def _option(market: Market, strike: str) -> dict:
    after = datetime.fromisoformat(market.ok("GET", f"/v1/instruments/{market.symbol}")["window_start"])
    start = _z(next_month_start(after))
    market.ok("POST", "/v1/products", "admin", 201, json={"id": "A100"})
    cash = {"type": "forward", "product": "A100", "window": "month", "start": start, "settlement": "cash"}
    forward = market.ok("POST", "/v1/instruments", "admin", 201, json=cash)
    body = {"type": "option", "underlying": forward["symbol"], "option_kind": "call", "strike": strike}
    option = market.ok("POST", "/v1/instruments", "admin", 201, json=body)
    now = market.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [{"at": (now - timedelta(days=d)).isoformat(), "price": "1.30"} for d in range(1, 31)]
    market.ok("POST", "/v1/index/A100/fixings", "admin", 201, json={"fixings": fixings})
    market.ok("POST", "/v1/admin/remargin", "admin")  # options are margined on both sides: marks first
    return option


def test_any_spelling_of_a_strike_finds_the_instrument(any_market: Market) -> None:
    market = any_market
    call = _option(market, "1.300")
    canonical = call["symbol"]
    assert canonical.endswith("-C1.30")
    stem = canonical.removesuffix("1.30")
    for spelling in ("1.3", "1.300", "01.30", "1.300000"):
        assert market.ok("GET", f"/v1/instruments/{stem}{spelling}")["symbol"] == canonical
        assert market.ok("GET", f"/v1/instruments/{stem}{spelling}/book")["symbol"] == canonical
    order = market.ok(
        "POST",
        "/v1/orders",
        "trader",
        201,
        json={"symbol": f"{stem}1.300", "side": "buy", "quantity": 1, "price": "0.050"},
    )
    assert order["symbol"] == canonical
    listed = market.ok("GET", f"/v1/orders?symbol={stem}1.3", "trader")["items"]
    assert [o["id"] for o in listed] == [order["id"]]
    cancelled = market.ok("DELETE", f"/v1/orders?symbol={stem}1.3000", "trader")["cancelled"]
    assert [o["symbol"] for o in cancelled] == [canonical]
    assert_problem(market.call("GET", f"/v1/instruments/{stem}1.31"), 404, "unknown_instrument")


def _fixings(market: Market) -> None:
    now = market.clock().replace(minute=0, second=0, microsecond=0)
    fixings = [
        {"at": _z(now - timedelta(hours=48 - i)), "price": f"{2.4 + 0.013 * (i % 7):.3f}"} for i in range(48)
    ]
    market.ok("POST", "/v1/index/H100/fixings", "admin", 201, json={"fixings": fixings})


def test_quote_rounds_prices_to_the_tick_and_greeks_to_six_digits(market: Market) -> None:
    _fixings(market)
    quote = market.ok("GET", f"/v1/instruments/{market.symbol}/quote")
    for price in (quote["fair_value"], quote["forward"]):
        assert len(price.partition(".")[2]) == 3  # the tick is 0.001
    for value in quote["greeks"].values():
        assert float(f"{value:.6g}") == value
    ticker = market.ok("GET", f"/v1/instruments/{market.symbol}/ticker")
    assert ticker["mark"] == quote["fair_value"]


def test_server_time_is_the_exchange_clock(market: Market) -> None:
    before = market.clock.now
    answer = market.ok("GET", "/v1/time")
    at = datetime.fromisoformat(answer["time"])
    assert before < at <= market.clock.now
    assert answer["epoch_ms"] == int(at.timestamp() * 1000)


def test_fee_schedule_lists_every_tradable_instrument(market: Market) -> None:
    start = _z(next_month_start(datetime.fromisoformat(market.window[0])))
    body = {
        "type": "forward",
        "product": "H100",
        "window": "month",
        "start": start,
        "maker_fee_ppm": 100,
        "taker_fee_ppm": 250,
    }
    second = market.ok("POST", "/v1/instruments", "admin", 201, json=body)
    page = market.ok("GET", "/v1/fees?product=H100")
    fees = {f["symbol"]: f for f in page["items"]}
    assert set(fees) == {market.symbol, second["symbol"]}
    assert (fees[second["symbol"]]["maker_rate"], fees[second["symbol"]]["taker_rate"]) == (
        "0.000100",
        "0.000250",
    )
    first = market.ok("GET", "/v1/fees?limit=1")
    rest = market.ok("GET", f"/v1/fees?limit=1&cursor={first['next_cursor']}")
    assert [f["symbol"] for f in first["items"] + rest["items"]] == [market.symbol, second["symbol"]]


def test_histories_filter_by_time_and_sort_either_way(any_market: Market) -> None:
    market = any_market
    instants = []
    for price in ("2.500", "2.510", "2.520"):
        instants.append(market.clock.now)
        _trade(market, price)
        market.clock.now += timedelta(minutes=10)
    middle = f"start={_z(instants[1])}&end={_z(instants[2])}"
    for path, who, price_of in (
        (f"/v1/instruments/{market.symbol}/trades", None, lambda i: i["price"]),
        ("/v1/fills", "trader", lambda i: i["price"]),
        ("/v1/orders", "trader", lambda i: i["price"]),
    ):
        ascending = [price_of(i) for i in market.ok("GET", path, who)["items"]]
        assert ascending == ["2.500", "2.510", "2.520"], path
        descending = [price_of(i) for i in market.ok("GET", f"{path}?order=desc", who)["items"]]
        assert descending == ascending[::-1], path
        assert [price_of(i) for i in market.ok("GET", f"{path}?{middle}", who)["items"]] == ["2.510"]
        first = market.ok("GET", f"{path}?order=desc&limit=2", who)
        rest = market.ok("GET", f"{path}?order=desc&limit=2&cursor={first['next_cursor']}", who)
        assert [price_of(i) for i in first["items"] + rest["items"]] == descending, path
    ledger = market.ok("GET", "/v1/ledger", "trader")["items"]
    newest = market.ok("GET", "/v1/ledger?order=desc", "trader")["items"]
    assert [e["id"] for e in newest] == [e["id"] for e in ledger][::-1]
    later = market.ok("GET", f"/v1/ledger?start={_z(instants[2])}", "trader")["items"]
    assert later
    assert all(datetime.fromisoformat(e["created_at"]) >= instants[2] for e in later)
    backwards = f"start={_z(instants[2])}&end={_z(instants[0])}"
    assert_problem(market.call("GET", f"/v1/fills?{backwards}", "trader"), 400, "invalid_window")
    assert market.call("GET", "/v1/orders?order=sideways", "trader").status_code == 400
