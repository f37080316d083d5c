"""A book refused at recovery: its difference from the replay, and its rebuild only when asked."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from market.errors import MarketError
from market.records import OrderRequest
from market.recovery import MAX_DIVERGENCES
from market.service import Exchange
from market.tables import Command
from tests.market.conftest import PHYSICAL, Market

_commands = Command.__table__


def _bid(market: Market, qty: int, price: int) -> str:
    return market.exchange.place_order(market.buyer, OrderRequest(PHYSICAL, "buy", qty, price_ticks=price)).id


def corrupt(db: sa.Engine, tampered: str, deleted: str) -> None:
    """Tamper with the stored events of one order's command and lose another order's command."""
    with db.begin() as connection:
        rows = connection.execute(sa.select(_commands.c.id, _commands.c.command, _commands.c.events)).all()
        for command_id, command, events in rows:
            order_id = json.loads(command).get("id")
            if order_id == tampered:
                changed = json.loads(events)
                changed[0]["qty"] += 1
                connection.execute(
                    _commands.update().where(_commands.c.id == command_id).values(events=json.dumps(changed))
                )
            elif order_id == deleted:
                connection.execute(_commands.delete().where(_commands.c.id == command_id))


def _restart(market: Market, db: sa.Engine) -> Exchange:
    market.exchange.close()
    exchange = Exchange(db, clock=market.clock)
    exchange.start()
    market.exchange = exchange
    return exchange


def test_a_corrupted_book_is_shown_then_rebuilt_only_when_asked(market: Market, db_engine: sa.Engine) -> None:
    ex = market.exchange
    tampered, deleted = _bid(market, 2, 1000), _bid(market, 1, 900)
    reserved = ex.balances(market.buyer).reserved
    assert reserved > 0
    assert ex.book_diff(PHYSICAL).refused is False
    with pytest.raises(MarketError) as sound:
        ex.rebuild_book(PHYSICAL)
    assert sound.value.code == "invalid_request"

    corrupt(db_engine, tampered, deleted)
    ex = _restart(market, db_engine)
    assert PHYSICAL in ex.refused_books
    with pytest.raises(MarketError) as refused:
        _bid(market, 1, 800)
    assert refused.value.code == "recovery_mismatch"

    diff = ex.book_diff(PHYSICAL)
    assert diff.refused
    assert diff.diverging == 1
    (divergence,) = diff.divergences
    assert json.loads(divergence.command)["id"] == tampered
    assert json.loads(divergence.stored)[0]["qty"] == json.loads(divergence.replayed)[0]["qty"] + 1
    assert [(o.order_id, o.stored, o.replayed) for o in diff.orders] == [(deleted, 1, None)]
    assert ex.book_diff(PHYSICAL) == diff  # looking changes nothing
    assert ex.balances(market.buyer).reserved == reserved

    rebuilt = ex.rebuild_book(PHYSICAL)
    assert rebuilt.cancelled == tuple(sorted((tampered, deleted)))
    assert rebuilt.dropped == ()
    assert rebuilt.refused is False
    assert ex.balances(market.buyer).reserved == 0
    assert {ex.order(market.buyer, oid).reason for oid in (tampered, deleted)} == {"book_rebuilt"}
    market.check()
    assert ex.book_diff(PHYSICAL).refused is False

    fresh = _bid(market, 1, 950)
    ex = _restart(market, db_engine)  # the reset is in the log: replays agree from now on
    assert PHYSICAL not in ex.refused_books
    assert ex.order(market.buyer, fresh).open_qty == 1
    market.check()


def test_a_diagnosis_keeps_the_first_divergences_and_counts_them_all(
    market: Market, db_engine: sa.Engine
) -> None:
    ids = [_bid(market, 1, 500 + i) for i in range(MAX_DIVERGENCES + 3)]
    with db_engine.begin() as connection:
        connection.execute(_commands.update().values(events="[]"))
    diff = market.exchange.book_diff(PHYSICAL)
    assert diff.diverging == len(ids)
    assert [json.loads(d.command)["id"] for d in diff.divergences] == ids[:MAX_DIVERGENCES]
    with pytest.raises(MarketError) as unknown:
        market.exchange.book_diff("H100-1999-01")
    assert unknown.value.code == "unknown_instrument"
