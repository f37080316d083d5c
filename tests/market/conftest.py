"""Fixtures for the exchange service tests: a controllable clock and a started :class:`Exchange`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from market.service import Exchange

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, tzinfo=UTC)
PHYSICAL = "H100-2026-12"  # 744 GPU-hours per lot
CASH = "A100-2026-12"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Market:
    """A small market: H100 physical and A100 cash-settled series, a provider with December capacity,
    two funded traders."""

    exchange: Exchange
    clock: Clock
    provider: str
    buyer: str
    seller: str

    def check(self) -> None:
        assert self.exchange.check() == []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exchange(db_engine: sa.Engine, clock: Clock) -> Iterator[Exchange]:
    ex = Exchange(db_engine, clock=clock)
    ex.start()
    yield ex
    ex.close()


@pytest.fixture
def market(exchange: Exchange, clock: Clock) -> Market:
    exchange.create_product("H100", "H100 SXM 80 GB")
    exchange.create_product("A100", "A100 80 GB")
    exchange.create_series("H100", months=2, weeks=2, days=2)
    exchange.create_series("A100", months=2, weeks=0, days=0, settlement="cash")
    provider = exchange.create_account("provider", ["provider"]).account.id
    buyer = exchange.create_account("buyer", ["trader"]).account.id
    seller = exchange.create_account("seller", ["trader"]).account.id
    exchange.create_listing(provider, "H100", 10, DECEMBER, JANUARY)
    for account in (buyer, seller):
        exchange.deposit(account, 100_000_000_000, f"seed-{account}")  # USD 100,000
    return Market(exchange, clock, provider, buyer, seller)
