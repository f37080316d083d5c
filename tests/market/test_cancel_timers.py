"""The dead-man switch's firing as a use case (the API's timer task announces what it returns)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import market.cancel_timers as market_cancel_timers
from market.records import OrderRequest
from tests.market.conftest import PHYSICAL, Market


def test_a_failed_firing_keeps_the_sweeps_committed_before_it(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second account's firing fails after the first committed: the first sweep (its timer now
    disarmed, so it never fires again) is still returned for the stream, and the failed switch, rolled
    back, fires on the next pass."""
    ex = market.exchange
    first, second = sorted((market.buyer, market.seller))
    orders = {
        a: ex.place_order(a, OrderRequest(PHYSICAL, "buy", 1, price_ticks=1000)) for a in (first, second)
    }
    for account in (first, second):
        ex.arm_cancel_timer(account, 10)
    market.clock.now += timedelta(seconds=11)
    cancel_live = market_cancel_timers.cancel_live

    def failing(house, uow, account_id, symbol=None):  # type: ignore[no-untyped-def]
        if account_id == second:
            raise RuntimeError("database unreachable")
        return cancel_live(house, uow, account_id, symbol)

    monkeypatch.setattr(market_cancel_timers, "cancel_live", failing)
    sweeps = ex.fire_cancel_timers()
    assert [(s.account_id, [o.id for o in s.orders]) for s in sweeps] == [(first, [orders[first].id])]
    assert ex.order(second, orders[second].id).status == "open"
    monkeypatch.setattr(market_cancel_timers, "cancel_live", cancel_live)
    again = ex.fire_cancel_timers()
    assert [(s.account_id, [o.id for o in s.orders]) for s in again] == [(second, [orders[second].id])]
    assert ex.fire_cancel_timers() == []
    market.check()
