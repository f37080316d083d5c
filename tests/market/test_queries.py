"""Reads paged in SQL: trades in a time range, positions by symbol and deliveries by id."""

from __future__ import annotations

from datetime import timedelta

import pytest

from market.errors import InvalidRequestError, UnknownInstrumentError
from market.records import OrderRequest
from tests.market.conftest import JANUARY, PHYSICAL, START, Market


def trade_at(market: Market, hours: float) -> int:
    """One trade of one lot at ``START + hours``; returns its id."""
    market.clock.now = START + timedelta(hours=hours)
    ex = market.exchange
    ex.place_order(market.provider, OrderRequest(symbol=PHYSICAL, side="sell", qty=1, price_ticks=2000))
    return (
        ex.place_order(market.buyer, OrderRequest(symbol=PHYSICAL, side="buy", qty=1, price_ticks=2000))
        .fills[0]
        .trade_id
    )


def test_trades_between_is_the_half_open_time_range(market: Market) -> None:
    ids = [trade_at(market, h) for h in (0, 1, 2, 3)]
    ex = market.exchange
    between = ex.trades_between(PHYSICAL, START + timedelta(hours=1), START + timedelta(hours=3))
    assert [t.id for t in between] == ids[1:3]  # the trade at the end instant is left out
    assert [t.id for t in ex.trades_between(PHYSICAL, START, START + timedelta(days=1))] == ids
    assert ex.trades_between(PHYSICAL, START - timedelta(days=1), START) == []
    with pytest.raises(UnknownInstrumentError):
        ex.trades_between("H100-1999-01", START, START + timedelta(days=1))


def test_positions_and_deliveries_page_in_sql(market: Market) -> None:
    ex = market.exchange
    ex.create_listing(market.provider, "H100", 10, JANUARY, JANUARY + timedelta(days=31))
    held = [PHYSICAL, "H100-2027-01"]
    for symbol in held:
        ex.place_order(market.provider, OrderRequest(symbol=symbol, side="sell", qty=1, price_ticks=2000))
        ex.place_order(market.buyer, OrderRequest(symbol=symbol, side="buy", qty=1, price_ticks=2000))
    assert [p.symbol for p in ex.positions(market.buyer)] == held
    first = ex.positions(market.buyer, limit=1)
    assert [p.symbol for p in first] == held[:1]
    assert [p.symbol for p in ex.positions(market.buyer, after=first[-1].symbol, limit=5)] == held[1:]
    assert ex.deliveries(market.buyer, after=0, limit=5) == []
    with pytest.raises(InvalidRequestError):
        ex.positions(market.buyer, limit=0)
