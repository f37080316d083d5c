"""An in-process API over a fresh SQLite database, with a small market and one key per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from market import db
from market.service import Exchange

API_NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
"""The exchange clock of the ``market`` fixture: tests never depend on the day they run."""


class Clock:
    """An exchange clock that ticks a millisecond per reading (so requests keep their order, as on a
    real clock) and that the test moves by hand."""

    def __init__(self, now: datetime = API_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass
class Market:
    """A client plus the keys and objects of the seeded market, and the exchange clock."""

    client: TestClient[Litestar]
    keys: dict[str, str]
    ids: dict[str, str]
    symbol: str
    window: tuple[str, str]
    clock: Clock = field(default_factory=Clock)

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.keys[who]}"}

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = {**self.auth(who), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str | None = None, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, who, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


def next_month_start(now: datetime) -> datetime:
    """The first instant of the month after ``now``'s."""
    return datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)


def make_client(
    url: str, clock: Callable[[], datetime] | None = None, **settings: Any
) -> TestClient[Litestar]:
    """A test client on ``clock`` (default: a :class:`Clock` at :data:`API_NOW`, never the wall clock);
    rate limits and the background lifecycle are off unless ``settings`` turn them on."""
    chosen = {"rate_limit": 0.0, "lifecycle_seconds": 0.0, **settings}
    return TestClient(create_app(Settings(database_url=url, **chosen), clock=clock or Clock()))


def _admin_key(url: str) -> str:
    engine = db.make_engine(url)
    try:
        return Exchange(engine, clock=lambda: API_NOW).create_account("ops", ["admin"]).api_key
    finally:
        engine.dispose()


@pytest.fixture
def admin_key(sqlite_url: str) -> str:
    return _admin_key(sqlite_url)


@pytest.fixture
def market(sqlite_url: str, admin_key: str) -> Iterator[Market]:
    """Admin, two providers, two traders (with cash); product H100; next month's physical forward,
    on which the first provider listed 10 GPUs."""
    yield from _seeded_market(sqlite_url, admin_key)


@pytest.fixture
def any_market(db_url: str) -> Iterator[Market]:
    """The ``market`` fixture's market, once on SQLite and once on PostgreSQL."""
    yield from _seeded_market(db_url, _admin_key(db_url))


def _seeded_market(url: str, admin_key: str) -> Iterator[Market]:
    clock = Clock()
    with make_client(url, clock=clock) as client:
        m = Market(client, {"admin": admin_key}, {}, "", ("", ""), clock)
        for name, role in (
            ("provider", "provider"),
            ("provider2", "provider"),
            ("trader", "trader"),
            ("trader2", "trader"),
        ):
            created = m.ok("POST", "/v1/accounts", "admin", 201, json={"name": name, "roles": [role]})
            m.keys[name] = created["api_key"]
            m.ids[name] = created["account"]["id"]
        for trader in ("trader", "trader2"):
            m.ok("POST", f"/v1/accounts/{m.ids[trader]}/deposits", "admin", 201, json={"amount": "1000000"})
        m.ok("POST", "/v1/products", "admin", 201, json={"id": "H100", "description": "H100 SXM 80GB"})
        start = next_month_start(clock())
        forward = m.ok(
            "POST",
            "/v1/instruments",
            "admin",
            201,
            json={"type": "forward", "product": "H100", "window": "month", "start": start.isoformat()},
        )
        m.symbol = forward["symbol"]
        m.window = (forward["window_start"], forward["window_end"])
        listing = m.ok(
            "POST",
            "/v1/listings",
            "provider",
            201,
            json={"product": "H100", "gpus": 10, "start": m.window[0], "end": m.window[1]},
        )
        m.ids["listing"] = str(listing["id"])
        yield m


def open_provider_and_trader(server: Any, auth: dict[str, str]) -> dict[str, str]:
    """Open a provider ``p`` and a trader ``t`` (with USD 1,000,000) over HTTP with the admin's
    ``auth``; their API keys by name."""
    keys = {}
    for name, role in (("p", "provider"), ("t", "trader")):
        created = server.post("/v1/accounts", json={"name": name, "roles": [role]}, headers=auth).json()
        keys[name] = created["api_key"]
        if name == "t":
            path = f"/v1/accounts/{created['account']['id']}/deposits"
            server.post(path, json={"amount": "1000000"}, headers=auth)
    return keys


def seed_forward(shard: Any, auth: dict[str, str], product: str, provider: dict[str, str]) -> str:
    """List ``product`` and next month's forward of it on the shard holding it, and 50 GPUs of the
    provider's capacity there; the forward's symbol."""
    shard.post("/v1/products", json={"id": product, "description": product}, headers=auth)
    start = next_month_start(API_NOW).isoformat()
    body = {"type": "forward", "product": product, "window": "month", "start": start}
    made = shard.post("/v1/instruments", json=body, headers=auth)
    assert made.status_code == 201, made.text
    inst = made.json()
    listing = {"product": product, "gpus": 50, "start": inst["window_start"], "end": inst["window_end"]}
    assert shard.post("/v1/listings", json=listing, headers=provider).status_code == 201
    return inst["symbol"]


@contextmanager
def shard_in_thread(url: str, products: tuple[str, ...]) -> Iterator[tuple[Litestar, str]]:
    """A shard holding ``products`` served for real from a thread of this process (the app and its
    base URL), for in-process tests whose other shard must reach it over the network."""
    from tests.api.live_server import free_port, serving_in_thread

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=url, products=products, public_url=public, rate_limit=0.0, lifecycle_seconds=0.0
    )
    app = create_app(settings, clock=Clock())
    with serving_in_thread(app, port):
        yield app, public
