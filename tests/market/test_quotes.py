"""Strip quotes: fair value and Greeks from the marks' model, replication by listed forwards, bid/offer
from their books, and refusals that name the field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from market.errors import InvalidRequestError, NotFoundError
from market.quotes import UNCOVERED_HALF_SPREAD, strip_quote
from market.records import OrderRequest
from tests.market.conftest import START, Market

DAY = datetime(2026, 11, 25, tzinfo=START.tzinfo)  # a listed day forward, H100-2026-11-25
SPOT_MICROS = 2_400_000


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Quotes only read through the facade: SQLite suffices (the database paths are tested elsewhere)."""
    return sqlite_url


@pytest.fixture
def priced(market: Market) -> Market:
    fixings = [(START - timedelta(hours=k), SPOT_MICROS) for k in range(12, 0, -1)]
    market.exchange.add_fixings("H100", fixings, "test")
    return market


def test_a_listed_day_is_replicated_by_its_forward_and_quoted_from_its_book(priced: Market) -> None:
    exchange = priced.exchange
    exchange.create_listing(priced.provider, "H100", 10, DAY, DAY + timedelta(days=2))
    exchange.place_order(priced.provider, OrderRequest("H100-2026-11-25", "sell", 5, price_ticks=2_500))
    quote = strip_quote(exchange, "H100", DAY, DAY + timedelta(days=1), 3)
    assert quote.fair_value_micros == SPOT_MICROS  # driftless GBM: every forward is the last fixing
    assert quote.greeks["delta"] == pytest.approx(1.0, rel=1e-6)
    (leg,) = quote.replication
    assert (leg.symbol, leg.gpus, leg.hours_in_window) == ("H100-2026-11-25", 3, 24)
    assert quote.uncovered_gpu_hours == 0
    assert (leg.ask_micros, leg.ask_from_book) == (2_500_000, True)
    assert quote.ask_micros == 2_500_000
    assert not leg.bid_from_book  # no bids: the fair value less the uncovered half-spread
    assert quote.bid_micros == round(SPOT_MICROS * (1 - UNCOVERED_HALF_SPREAD))
    assert quote.basis_std_micros == 0


def test_an_unlisted_window_leaves_uncovered_hours_and_basis(priced: Market) -> None:
    start = DAY + timedelta(hours=6)
    quote = strip_quote(priced.exchange, "H100", start, start + timedelta(hours=36), 4)
    assert quote.hours == 36
    assert quote.fair_value_micros == SPOT_MICROS
    assert {leg.symbol for leg in quote.replication} <= {"H100-2026-11-25", "H100-2026-11-26"}
    covered = sum(leg.gpus * leg.hours_in_window for leg in quote.replication)
    assert quote.uncovered_gpu_hours >= 4 * 36 - covered
    assert quote.basis_std_micros > 0
    assert quote.bid_micros < quote.fair_value_micros < quote.ask_micros


def test_bad_requests_name_the_field(priced: Market) -> None:
    cases = [
        ("Z9", DAY, 24, 1, NotFoundError, "product"),
        ("H100", START - timedelta(hours=12), 24, 1, InvalidRequestError, "start"),
        ("H100", DAY + timedelta(minutes=30), 24, 1, InvalidRequestError, "start"),
        (
            "H100",
            DAY.astimezone(timezone(timedelta(hours=5, minutes=30))).replace(minute=0),
            24,
            1,
            InvalidRequestError,
            "start",
        ),  # 05:00+05:30 is 23:30 UTC
        ("H100", DAY, 0, 1, InvalidRequestError, "end"),
        ("H100", DAY, 24, 0, InvalidRequestError, "gpus"),
        ("H100", DAY, 24 * 400, 1, InvalidRequestError, "end"),
    ]
    for product, start, hours, gpus, error, field in cases:
        with pytest.raises(error) as caught:
            strip_quote(priced.exchange, product, start, start + timedelta(hours=hours), gpus)
        assert caught.value.field == field, (product, start, hours, gpus)
