"""Fixings are observations with an audit trail (issue #12, item 8), on SQLite and PostgreSQL.

The audit posted fixings dated 2099 (accepted and counted in settlement) and a correction to a stored
fixing (silently dropped). Now a fixing dated after the exchange clock (beyond five minutes of skew)
is refused; a correction is a new revision that replaces the old one in every average while the old
one stays, superseded; and a cash settlement remembers exactly which revisions it averaged, so a
correction made afterwards changes neither the settlement nor its record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from market.errors import InvalidRequestError
from market.records import FixingsStored, OrderRequest
from tests.market.conftest import CASH, DECEMBER, JANUARY, START, Market

USD = 1_000_000


def test_fixings_dated_after_the_clock_are_refused(market: Market) -> None:
    ex = market.exchange
    with pytest.raises(InvalidRequestError) as refused:
        ex.add_fixings("A100", [(START - timedelta(hours=1), USD), (datetime(2099, 1, 1, tzinfo=UTC), USD)])
    assert refused.value.field == "fixings[1].at"
    assert ex.fixings("A100") == []  # nothing of the refused batch was stored
    assert ex.add_fixings("A100", [(START + timedelta(minutes=4), USD)]) == FixingsStored(1, 0)  # clock skew


def test_a_correction_is_a_new_revision_and_the_old_one_is_kept(market: Market) -> None:
    ex = market.exchange
    at = START - timedelta(hours=2)
    assert ex.add_fixings("A100", [(at, 1_500_000)], "feed") == FixingsStored(1, 0)
    assert ex.add_fixings("A100", [(at, 1_500_000)], "feed") == FixingsStored(0, 0)  # a repeat
    assert ex.add_fixings("A100", [(at, 1_520_000)], "feed") == FixingsStored(0, 1)  # a correction
    (current,) = ex.fixings("A100")
    assert (current.price_micros, current.revision, current.superseded_at) == (1_520_000, 2, None)
    trail = ex.fixings("A100", revisions=True)
    assert [(f.revision, f.price_micros) for f in trail] == [(1, 1_500_000), (2, 1_520_000)]
    assert trail[0].superseded_at == START


def test_settlement_records_the_revisions_it_averaged(market: Market) -> None:
    ex = market.exchange
    ex.add_fixings("A100", [(START - timedelta(days=d), 1_500_000) for d in range(1, 15)])
    ex.refresh_marks()
    ex.place_order(market.seller, OrderRequest(symbol=CASH, side="sell", qty=1, price_ticks=1500))
    ex.place_order(market.buyer, OrderRequest(symbol=CASH, side="buy", qty=1, price_ticks=1500))
    market.clock.now = DECEMBER
    ex.settle()
    market.clock.now = JANUARY
    days = [DECEMBER + timedelta(days=d) for d in range(31)]
    ex.add_fixings("A100", [(day, 1_600_000) for day in days], "feed")
    ex.add_fixings("A100", [(days[0], 1_900_000)], "feed")  # corrected before settlement: counts
    assert CASH in ex.settle().cash_settled
    used = ex.settled_on(CASH)
    assert len(used) == 31
    assert (used[0].price_micros, used[0].revision) == (1_900_000, 2)
    settled = ex.instrument(CASH).settle_price_micros
    assert settled == round((1_900_000 + 30 * 1_600_000) / 31)
    market.clock.now = JANUARY + timedelta(days=1)
    ex.add_fixings("A100", [(days[1], 9_000_000)], "feed")  # corrected after settlement
    later = ex.settled_on(CASH)  # the same revisions; the record now shows one was superseded since
    assert [(f.at, f.revision, f.price_micros) for f in later] == [
        (f.at, f.revision, f.price_micros) for f in used
    ]
    assert later[1].superseded_at == JANUARY + timedelta(days=1)
    assert ex.instrument(CASH).settle_price_micros == settled
    market.check()
