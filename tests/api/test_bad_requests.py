"""The audit's catalogue of bad requests, re-run: every one must be refused with a 4xx problem.

Each valid request of the API is taken apart field by field: every field gets the values its type must
not accept (floats and strings for integers, integers and strings for booleans, out-of-range numbers,
malformed decimals and instants, null for required fields), and every body is also sent with an unknown
field, the wrong content type, broken and deeply nested JSON. Queries get naive and out-of-range
instants, made-up cursors and lower-case symbols; headers get malformed keys. The test counts what was
tried, what was refused, what was a server error and what was wrongly accepted, prints the counts
(``pytest -s``) and requires the last two to be zero.
"""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from typing import Any

import msgspec

from tests.api.conftest import Market
from tests.api.test_routes import PRICE_REQUEST

_NOT_AN_INTEGER = [1.0, "1", True, None, 0, -1, 2**63, 1e10, [], {}]
_NOT_A_BOOLEAN = [1, 0, "true", "false", None, "yes"]
_NOT_MONEY = [1.0, 1, "NaN", "Infinity", "-1", "1e5", "1.0000001", "", None, "9" * 40, True, " 1"]
_NOT_AN_INSTANT = ["2027-01-01T00:00:00", "0001-01-01T00:00:00Z", "9999-12-01T00:00:00Z", "tomorrow", 0, None]
_NOT_A_SYMBOL = ["lower", "", "A" * 100, 5, None, "H100;DROP", "H100 2027"]
_NOT_A_SIDE = ["BUY", "", 1, None, "hold"]
_OPTIONAL = {
    "post_only",
    "source",
    "mc",
    "type",
    "time_in_force",
    "stp",
    "expire_at",
    "display_quantity",
    "client_order_id",
    "description",
}


@dataclass(frozen=True)
class Bad:
    """One bad request: what is wrong with it, and how to send it."""

    name: str
    method: str
    path: str
    who: str | None
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] | None = None


def _bodies(market: Market) -> list[tuple[str, str, str, dict[str, Any], dict[str, list[Any]]]]:
    """(method, path, role, a valid body, bad values per field)."""
    start, end = market.window
    return [
        (
            "POST",
            "/v1/orders",
            "trader",
            {"symbol": market.symbol, "side": "buy", "quantity": 1, "price": "1.000", "post_only": False},
            {
                "symbol": _NOT_A_SYMBOL,
                "side": _NOT_A_SIDE,
                "quantity": _NOT_AN_INTEGER,
                "price": _NOT_MONEY,
                "post_only": _NOT_A_BOOLEAN,
                "type": ["LIMIT", "", 1, None, "iceberg"],
                "time_in_force": ["GTC", "day", 1],
                "stp": ["CANCEL", "", 0],
                "expire_at": [v for v in _NOT_AN_INSTANT if v is not None],
                "display_quantity": [v for v in _NOT_AN_INTEGER if v is not None],
                "client_order_id": ["", "has space", "x" * 65, 5, "semi;colon"],
            },
        ),
        (
            "POST",
            "/v1/products",
            "admin",
            {"id": "B200"},
            {"id": [*_NOT_A_SYMBOL, "b200", "B200_X", "2B00"], "description": [5, None, "x" * 1000]},
        ),
        (
            "POST",
            "/v1/listings",
            "provider",
            {"product": "H100", "gpus": 1, "start": start, "end": end},
            {
                "product": _NOT_A_SYMBOL,
                "gpus": _NOT_AN_INTEGER,
                "start": _NOT_AN_INSTANT,
                "end": _NOT_AN_INSTANT,
            },
        ),
        (
            "POST",
            f"/v1/accounts/{market.ids['trader']}/deposits",
            "admin",
            {"amount": "10.00"},
            {"amount": [*_NOT_MONEY, "0", "0.000000"]},
        ),
        (
            "POST",
            "/v1/instruments",
            "admin",
            {"type": "forward", "product": "H100", "window": "month", "start": start},
            {"product": _NOT_A_SYMBOL, "window": ["year", "", 3, None], "start": _NOT_AN_INSTANT},
        ),
        (
            "POST",
            "/v1/index/H100/fixings",
            "admin",
            {"source": "feed", "fixings": [{"at": start, "price": "2.41"}]},
            {
                "fixings": [
                    [],
                    None,
                    "x",
                    [{"at": start}],
                    [{"price": "1"}],
                    [{"at": None, "price": "1"}],
                    [{"at": "2099-01-01T00:00:00Z", "price": "2.41"}],
                ]
            },
        ),
        (
            "POST",
            "/v1/price",
            "trader",
            {**PRICE_REQUEST, "method": "mc", "mc": {"paths": 1000}},
            {
                "mc": [{"paths": p} for p in (1e7, 1000.0, "1000", True, -5, 10**12, None)]
                + [{"paths": 1000, "steps_per_year": s} for s in (1.5, "5", 10**9)]
                + [{"paths": 5_000_000, "steps_per_year": 100_000}],
                "model": [None, "gbm", {"type": "gbm", "spot": "NaN", "vol": 0.5}, {"type": "gbm"}],
                "instrument": [{}, {"type": "european", "kind": "call", "strike": 2.0, "expiry": -1.0}],
            },
        ),
    ]


def catalogue(market: Market) -> list[Bad]:
    """Every bad request of the audit's kinds against the seeded market."""
    bad: list[Bad] = []
    for method, path, who, valid, fields in _bodies(market):
        for field, values in fields.items():
            for value in values:
                bad.append(Bad(f"{path} {field}={value!r:.40}", method, path, who, {**valid, field: value}))
            if field not in _OPTIONAL:
                required = {k: v for k, v in valid.items() if k != field}
                bad.append(Bad(f"{path} without {field}", method, path, who, required))
        raw = msgspec.json.encode(valid)
        bad += [
            Bad(f"{path} unknown field", method, path, who, {**valid, "surprise": 1}),
            Bad(f"{path} text/plain", method, path, who, raw=raw, headers={"content-type": "text/plain"}),
            Bad(
                f"{path} form",
                method,
                path,
                who,
                raw=b"a=1",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            Bad(f"{path} broken JSON", method, path, who, raw=raw[:-1]),
            Bad(f"{path} array", method, path, who, body=[valid]),
            Bad(f"{path} nested 10,000 deep", method, path, who, raw=b"[" * 10_000 + b"]" * 10_000),
            Bad(
                f"{path} nested in a field",
                method,
                path,
                who,
                raw=b'{"x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
            ),
            Bad(f"{path} NaN literal", method, path, who, raw=raw[:-1] + b',"n":NaN}'),
        ]
        if method == "POST" and path == "/v1/orders":
            bad.append(
                Bad("quantity 1e0", method, path, who, raw=raw.replace(b'"quantity":1', b'"quantity":1e0'))
            )
    symbol = market.symbol
    forged = base64.urlsafe_b64encode(b"c1:9223372036854775807").decode().rstrip("=")
    for query in (
        "start=2027-01-01T00:00:00",
        "end=2027-01-01T00:00:00",
        "end=0001-01-01T00:00:00Z",
        "start=9999-12-31T00:00:00Z",
        "start=2027-02-01T00:00:00Z&end=2027-01-01T00:00:00Z",
        "interval=2h",
        "start=1e9",
    ):
        bad.append(Bad(f"candles {query}", "GET", f"/v1/instruments/{symbol}/candles?{query}", None))
        bad.append(Bad(f"index {query}", "GET", f"/v1/index/H100?{query}", None))
    for cursor in (forged, f"{forged}.AAAAAAAAAAAAAAAA", "!!", "x" * 200):
        for path in (
            "/v1/index/H100",
            f"/v1/instruments/{symbol}/trades",
            "/v1/orders",
            "/v1/fills",
            "/v1/ledger",
        ):
            bad.append(Bad(f"{path} cursor {cursor:.20}", "GET", f"{path}?cursor={cursor}", "trader"))
    for path in (
        "/v1/index/ZZZ",
        "/v1/index/h100",
        "/v1/instruments/lower/book",
        "/v1/instruments/NOPE-2027-01/book",
        f"/v1/instruments/{symbol}/book?depth=0",
        f"/v1/instruments/{symbol}/book?depth=1001",
        f"/v1/instruments/{symbol}/book?depth=abc",
        "/v1/orders?limit=0",
        "/v1/orders?limit=501",
        "/v1/orders?status=bogus",
        "/v1/orders/ord_nope",
        "/v1/orders/has%20space",
    ):
        bad.append(Bad(f"GET {path}", "GET", path, "trader"))
    bad += [
        Bad("DELETE orders symbol=lower", "DELETE", "/v1/orders?symbol=lower", "trader"),
        Bad("PATCH nothing", "PATCH", "/v1/orders/ord_nope", "trader", {"quantity": 1}),
        Bad("PATCH quantity 1.0", "PATCH", "/v1/orders/ord_nope", "trader", {"quantity": 1.0}),
    ]
    for authorization in ("Basic abc", "Bearer", "Bearer " + "x" * 300, "Token abc", "bearer flx_madeup"):
        bad.append(
            Bad(f"auth {authorization:.20}", "GET", "/v1/me", None, headers={"Authorization": authorization})
        )
    return bad


def test_the_audits_bad_requests_are_all_refused_without_a_server_error(market: Market) -> None:
    counts: Counter[str] = Counter()
    accepted, crashed = [], []
    for bad in catalogue(market):
        headers = {**market.auth(bad.who), **(bad.headers or {})}
        if bad.raw is not None:
            headers.setdefault("content-type", "application/json")
            response = market.client.request(bad.method, bad.path, headers=headers, content=bad.raw)
        elif bad.body is not None:
            response = market.client.request(bad.method, bad.path, headers=headers, json=bad.body)
        else:
            response = market.client.request(bad.method, bad.path, headers=headers)
        counts["tried"] += 1
        if response.status_code >= 500:
            crashed.append((bad.name, response.status_code, response.text[:200]))
        elif response.status_code < 400:
            accepted.append((bad.name, response.status_code, response.text[:200]))
        else:
            counts["rejected"] += 1
            assert response.headers["content-type"].startswith("application/problem+json"), bad.name
    print(
        f"\nbad inputs tried {counts['tried']} / rejected {counts['rejected']} / 5xx {len(crashed)} "
        f"/ wrongly accepted {len(accepted)}"
    )
    assert not crashed, crashed
    assert not accepted, accepted
    assert counts["tried"] >= 250
