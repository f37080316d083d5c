"""PostgreSQL: the database enforces one writer per book, and concurrent clients of one writer stay
consistent."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from market.db import make_engine
from market.errors import BookUnavailableError, MarketError
from market.records import OrderRequest
from market.service import Exchange

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _market(engine: sa.Engine) -> tuple[Exchange, str, str, str]:
    ex = Exchange(engine, clock=lambda: datetime(2027, 3, 10, 9, 0, tzinfo=UTC))
    ex.start()
    ex.create_product("H100")
    symbol = ex.create_series("H100", months=1, weeks=0, days=0)[0]
    provider = ex.create_account("p", ["provider"]).account.id
    buyer = ex.create_account("b", ["trader"]).account.id
    ex.create_listing(provider, "H100", 1000, symbol.window_start, symbol.window_end)
    ex.deposit(buyer, 10**13, "seed")
    return ex, symbol.symbol, provider, buyer


def test_a_second_instance_is_refused_the_books(postgres_url: str, pg_engine: sa.Engine) -> None:
    first, symbol, _, _ = _market(pg_engine)
    other_engine = make_engine(postgres_url)  # another process would have its own engine
    second = Exchange(other_engine)
    with pytest.raises(BookUnavailableError) as refused:
        second.start()
    assert symbol in refused.value.message
    first.close()  # the holder goes away: its locks go with its session
    second.start()
    assert symbol in second._books().instruments
    second.close()
    other_engine.dispose()


def test_concurrent_clients_of_one_writer_keep_the_invariants(pg_engine: sa.Engine) -> None:
    ex, symbol, provider, buyer = _market(pg_engine)
    failures: list[BaseException] = []

    def client(account: str, side: str, offset: int) -> None:
        try:
            for i in range(25):
                request = OrderRequest(symbol, side, 1 + i % 3, price_ticks=1500 + (i + offset) % 5)
                with contextlib.suppress(MarketError):
                    ex.place_order(account, request)
        except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
            failures.append(exc)

    threads = [
        threading.Thread(target=client, args=(provider, "sell", 0)),
        threading.Thread(target=client, args=(buyer, "buy", 2)),
        threading.Thread(target=client, args=(buyer, "buy", 4)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert ex.check() == []
    assert ex.fills(buyer)
    ex.close()
