"""Conformance scenarios 1-9 of the matching engine (issue 4), plus the semantics they leave open.

Notation in the comments: price x qty #id, levels best first, time priority left to right.
"""

from __future__ import annotations

import pytest

from market.engine import MatchingEngine

SYMBOL = "H100-2027-01"


def seed(engine: MatchingEngine, asks=(), bids=()) -> None:
    """Rest GTC limit orders (price, qty, id), each from its own account so that none self-trades."""
    for side, orders in (("sell", asks), ("buy", bids)):
        for price, qty, oid in orders:
            events = engine.apply(order(oid, side, qty, price, account=f"mm-{oid}"))
            assert events[-1]["type"] == "resting", events


def order(oid: str, side: str, qty: int, price: int | None = None, **extra) -> dict:
    """A ``new`` command; ``price=None`` makes a market order unless ``type`` says otherwise."""
    command = {
        "op": "new",
        "symbol": SYMBOL,
        "id": oid,
        "account": extra.pop("account", "taker"),
        "side": side,
    }
    command["type"] = extra.pop("type", "limit" if price is not None else "market")
    if price is not None:
        command["price"] = price
    command["qty"] = qty
    command.update(extra)
    return command


def book(engine: MatchingEngine) -> dict[str, list]:
    """The snapshot as ``{"bids": [(price, [(id, qty), ...]), ...], "asks": ...}``."""
    snap = engine.snapshot(SYMBOL)
    return {
        side: [(lvl["price"], [(o["id"], o["qty"]) for o in lvl["orders"]]) for lvl in snap[side]]
        for side in ("bids", "asks")
    }


def trades(events: list[dict]) -> list[tuple[str, int, int]]:
    return [(e["maker"], e["qty"], e["price"]) for e in events if e["type"] == "trade"]


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


ASKS = [(81599, 50, "2"), (81599, 25, "3"), (81600, 100, "1")]
BIDS = [(81593, 40, "4"), (81590, 20, "5"), (81590, 1, "6")]


@pytest.fixture
def engine() -> MatchingEngine:
    engine = MatchingEngine()
    engine.add_instrument(SYMBOL)
    return engine


def test_scenario_1_ioc_sell_partially_takes_best_bid(engine: MatchingEngine) -> None:
    seed(engine, ASKS, BIDS)
    events = engine.apply(order("t", "sell", 10, 1, tif="ioc"))
    assert trades(events) == [("4", 10, 81593)]
    assert events[-1]["type"] == "filled"
    assert book(engine)["bids"] == [(81593, [("4", 30)]), (81590, [("5", 20), ("6", 1)])]


def test_scenario_2_ioc_sell_walks_into_second_level(engine: MatchingEngine) -> None:
    seed(engine, ASKS, BIDS)
    events = engine.apply(order("t", "sell", 41, 1, tif="ioc"))
    assert trades(events) == [("4", 40, 81593), ("5", 1, 81590)]
    assert book(engine)["bids"] == [(81590, [("5", 19), ("6", 1)])]


def test_scenario_3_ioc_buy_sweeps_every_level_and_expires_the_rest(engine: MatchingEngine) -> None:
    seed(engine, [*ASKS, (200954, 10, "10"), (201000, 28, "8"), (201000, 32, "9")], BIDS)
    events = engine.apply(order("t", "buy", 270, 400000, tif="ioc"))
    assert trades(events) == [
        ("2", 50, 81599),
        ("3", 25, 81599),
        ("1", 100, 81600),
        ("10", 10, 200954),
        ("8", 28, 201000),
        ("9", 32, 201000),
    ]
    assert events[-1] == {"type": "expired", "seq": events[-1]["seq"], "id": "t", "qty": 25, "reason": "ioc"}
    assert book(engine)["asks"] == []


def test_scenario_4_gtc_buy_takes_then_rests_as_best_bid(engine: MatchingEngine) -> None:
    seed(engine, ASKS, BIDS)
    events = engine.apply(order("t", "buy", 77, 81599))
    assert trades(events) == [("2", 50, 81599), ("3", 25, 81599)]
    assert events[-1]["type"] == "resting"
    assert events[-1]["qty"] == 2
    assert book(engine)["bids"][0] == (81599, [("t", 2)])
    assert book(engine)["asks"] == [(81600, [("1", 100)])]


def test_scenario_5_time_priority_within_a_level(engine: MatchingEngine) -> None:
    seed(engine, [(1251, 300, "a0"), (1251, 200, "a2"), (1252, 100, "a3")], [(1250, 100, "b0")])
    events = engine.apply(order("t", "buy", 500, 1251))
    assert trades(events) == [("a0", 300, 1251), ("a2", 200, 1251)]
    assert book(engine) == {"bids": [(1250, [("b0", 100)])], "asks": [(1252, [("a3", 100)])]}


def test_scenario_6_ioc_fills_what_it_can_and_fok_does_nothing(engine: MatchingEngine) -> None:
    seed(engine, [(1250, 100, "a0"), (1251, 100, "a1"), (1252, 100, "a2")])
    events = engine.apply(order("ioc", "buy", 300, 1250, tif="ioc"))
    assert trades(events) == [("a0", 100, 1250)]
    assert (events[-1]["reason"], events[-1]["qty"]) == ("ioc", 200)
    before = book(engine)
    events = engine.apply(order("fok", "buy", 300, 1250, tif="fok"))
    assert trades(events) == []
    assert [(e["type"], e.get("reason")) for e in events] == [("accepted", None), ("expired", "fok")]
    assert book(engine) == before


def test_scenario_7_market_orders_never_rest(engine: MatchingEngine) -> None:
    events = engine.apply(order("m1", "buy", 100))
    assert trades(events) == []
    assert (events[-1]["type"], events[-1]["reason"]) == ("expired", "no_liquidity")
    assert book(engine) == {"bids": [], "asks": []}
    seed(engine, bids=[(50, 100, "b")])
    events = engine.apply(order("m2", "sell", 10))
    assert trades(events) == [("b", 10, 50)]
    assert book(engine)["bids"] == [(50, [("b", 90)])]


def test_scenario_8_post_only_rejected_when_it_would_take(engine: MatchingEngine) -> None:
    seed(engine, [(100, 1, "a")])
    before = book(engine)
    events = engine.apply(order("p1", "buy", 1, 100, post_only=True))
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "post_only_would_take")]
    assert book(engine) == before
    events = engine.apply(order("p2", "buy", 1, 99, post_only=True))
    assert events[-1]["type"] == "resting"
    assert book(engine)["bids"] == [(99, [("p2", 1)])]


def test_scenario_9_quantity_decrease_keeps_priority(engine: MatchingEngine) -> None:
    seed(engine, bids=[(81590, 20, "5"), (81590, 1, "6")])
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "5", "account": "mm-5", "qty": 17})
    assert events == [
        {
            "type": "amended",
            "seq": events[0]["seq"],
            "id": "5",
            "qty": 17,
            "price": 81590,
            "priority_kept": True,
        }
    ]
    assert book(engine)["bids"] == [(81590, [("5", 17), ("6", 1)])]


def test_amend_increase_or_reprice_loses_priority(engine: MatchingEngine) -> None:
    seed(engine, bids=[(100, 5, "a"), (100, 5, "b"), (99, 5, "c")])
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "a", "account": "mm-a", "qty": 6})
    assert events[-1]["priority_kept"] is False
    assert book(engine)["bids"][0] == (100, [("b", 5), ("a", 6)])
    engine.apply({"op": "amend", "symbol": SYMBOL, "id": "b", "account": "mm-b", "price": 99})
    assert book(engine)["bids"] == [(100, [("a", 6)]), (99, [("c", 5), ("b", 5)])]


def test_amend_to_a_crossing_price_trades_as_taker(engine: MatchingEngine) -> None:
    seed(engine, asks=[(101, 3, "s")], bids=[(100, 5, "b")])
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "b", "account": "mm-b", "price": 102})
    assert [e["type"] for e in events] == ["amended", "trade", "filled", "resting"]
    assert trades(events) == [("s", 3, 101)]
    assert book(engine) == {"bids": [(102, [("b", 2)])], "asks": []}


@pytest.mark.parametrize("qty", [0, -3])
def test_amend_to_zero_or_below_is_rejected(engine: MatchingEngine, qty: int) -> None:
    seed(engine, bids=[(100, 5, "a")])
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "a", "account": "mm-a", "qty": qty})
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "invalid_amend")]
    assert book(engine)["bids"] == [(100, [("a", 5)])]


@pytest.mark.parametrize(
    "command",
    [
        {"op": "cancel", "symbol": SYMBOL, "id": "nope", "account": "mm-a"},
        {"op": "cancel", "symbol": SYMBOL, "id": "a", "account": "someone-else"},
        {"op": "amend", "symbol": SYMBOL, "id": "a", "account": "someone-else", "qty": 1},
        {"op": "cancel", "symbol": SYMBOL, "id": "gone", "account": "mm-gone"},
    ],
    ids=["unknown", "other-account-cancel", "other-account-amend", "filled"],
)
def test_cancel_or_amend_of_unknown_or_foreign_order_is_rejected(
    engine: MatchingEngine, command: dict
) -> None:
    seed(engine, asks=[(101, 1, "gone")], bids=[(100, 5, "a")])
    engine.apply(order("t", "buy", 1, 101))
    assert book(engine) == {"bids": [(100, [("a", 5)])], "asks": []}
    events = engine.apply(command)
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "unknown_order")]
    assert book(engine) == {"bids": [(100, [("a", 5)])], "asks": []}


def test_cancel_removes_the_order(engine: MatchingEngine) -> None:
    seed(engine, bids=[(100, 5, "a"), (100, 2, "b")])
    events = engine.apply({"op": "cancel", "symbol": SYMBOL, "id": "a", "account": "mm-a"})
    assert [(e["type"], e["id"], e["qty"], e["reason"]) for e in events] == [("cancelled", "a", 5, "user")]
    assert book(engine)["bids"] == [(100, [("b", 2)])]


@pytest.mark.parametrize(
    ("mode", "closing", "book_after"),
    [
        ("cancel_newest", [("expired", "t", 5, "stp")], [(100, [("own", 3), ("other", 4)])]),
        ("cancel_oldest", [("cancelled", "own", 3, "stp")], []),
        (
            "cancel_both",
            [("cancelled", "own", 3, "stp"), ("expired", "t", 5, "stp")],
            [(100, [("other", 4)])],
        ),
    ],
)
def test_self_trade_prevention_modes(
    engine: MatchingEngine, mode: str, closing: list[tuple], book_after: list[tuple]
) -> None:
    engine.apply(order("own", "sell", 3, 100, account="acct"))
    engine.apply(order("other", "sell", 4, 100, account="x"))
    events = engine.apply(order("t", "buy", 5, 100, account="acct", stp=mode, tif="ioc"))
    got = [
        (e["type"], e["id"], e["qty"], e["reason"]) for e in events if e["type"] in ("expired", "cancelled")
    ]
    if mode == "cancel_oldest":
        assert trades(events) == [("other", 4, 100)]
        closing = [*closing, ("expired", "t", 1, "ioc")]
    else:
        assert trades(events) == []
    assert got == closing
    assert book(engine)["asks"] == book_after


def test_self_trade_decrement_reduces_both_without_a_trade(engine: MatchingEngine) -> None:
    engine.apply(order("own", "sell", 3, 100, account="acct"))
    engine.apply(order("other", "sell", 4, 100, account="x"))
    events = engine.apply(order("t", "buy", 5, 100, account="acct", stp="decrement"))
    assert [e["type"] for e in events] == ["accepted", "decremented", "cancelled", "trade", "filled"]
    assert (events[1]["maker"], events[1]["taker"], events[1]["qty"]) == ("own", "t", 3)
    assert (events[2]["id"], events[2]["qty"], events[2]["reason"]) == ("own", 0, "stp")
    assert trades(events) == [("other", 2, 100)]
    assert book(engine) == {"bids": [], "asks": [(100, [("other", 2)])]}
    events = engine.apply(order("small", "buy", 1, 100, account="x", stp="decrement"))
    assert [e["type"] for e in events] == ["accepted", "decremented", "expired"]
    assert (events[-1]["id"], events[-1]["qty"], events[-1]["reason"]) == ("small", 0, "stp")
    assert book(engine)["asks"] == [(100, [("other", 1)])]


def test_self_trade_none_lets_an_account_trade_with_itself(engine: MatchingEngine) -> None:
    engine.apply(order("own", "sell", 3, 100, account="acct"))
    events = engine.apply(order("t", "buy", 3, 100, account="acct", stp="none"))
    assert trades(events) == [("own", 3, 100)]


def test_iceberg_shows_a_slice_and_refreshes_at_the_back(engine: MatchingEngine) -> None:
    engine.apply(order("ice", "sell", 10, 100, account="a", display_qty=4))
    engine.apply(order("plain", "sell", 5, 100, account="b"))
    snap = engine.snapshot(SYMBOL)["asks"][0]
    assert [(o["id"], o["qty"], o["visible"]) for o in snap["orders"]] == [("ice", 10, 4), ("plain", 5, 5)]
    assert snap["qty"] == 15
    events = engine.apply(order("t", "buy", 6, 100, account="c"))
    assert trades(events) == [("ice", 4, 100), ("plain", 2, 100)]
    snap = engine.snapshot(SYMBOL)["asks"][0]
    assert [(o["id"], o["qty"], o["visible"]) for o in snap["orders"]] == [("plain", 3, 3), ("ice", 6, 4)]
    events = engine.apply(order("t2", "buy", 12, 100, account="c", tif="ioc"))
    assert trades(events) == [("plain", 3, 100), ("ice", 4, 100), ("ice", 2, 100)]


def test_stop_orders_trigger_on_last_price_after_the_command(engine: MatchingEngine) -> None:
    seed(engine, asks=[(100, 1, "a1"), (105, 5, "a2")], bids=[(95, 5, "b1")])
    events = engine.apply(order("stop", "buy", 2, type="stop_market", stop_price=100, account="s"))
    assert [e["type"] for e in events] == ["accepted"]  # no trade yet: nothing to trigger on
    events = engine.apply(order("t", "buy", 1, 100, account="c"))
    assert [e["type"] for e in events] == [
        "accepted",
        "trade",
        "filled",
        "filled",
        "triggered",
        "trade",
        "filled",
    ]
    assert trades(events) == [("a1", 1, 100), ("a2", 2, 105)]
    assert engine.snapshot(SYMBOL)["last"] == 105


def test_stop_limit_triggers_in_acceptance_order_and_cascades(engine: MatchingEngine) -> None:
    seed(engine, asks=[(101, 1, "a1"), (102, 1, "a2"), (103, 1, "a3")], bids=[(90, 1, "b")])
    engine.apply(order("s2", "buy", 1, 102, type="stop_limit", stop_price=101, account="s"))
    engine.apply(order("s1", "buy", 1, 103, type="stop_limit", stop_price=100, account="s"))
    engine.apply(order("s3", "buy", 1, 110, type="stop_limit", stop_price=103, account="s"))
    events = engine.apply(order("t", "buy", 1, 101, account="c"))
    fired = [e["id"] for e in events if e["type"] == "triggered"]
    assert fired == ["s2", "s1", "s3"]
    assert trades(events) == [("a1", 1, 101), ("a2", 1, 102), ("a3", 1, 103)]
    assert events[-1] == {"type": "resting", "seq": events[-1]["seq"], "id": "s3", "qty": 1}


def test_gtd_orders_expire_when_time_reaches_them(engine: MatchingEngine) -> None:
    engine.apply(order("g", "buy", 5, 100, account="a", tif="gtd", expire_at=50))
    engine.apply(order("h", "buy", 5, 99, account="a", tif="gtd", expire_at=40))
    assert engine.apply({"op": "time", "now": 39}) == []
    events = engine.apply({"op": "time", "now": 50})
    assert [(e["type"], e["id"], e["reason"]) for e in events] == [
        ("expired", "h", "gtd"),
        ("expired", "g", "gtd"),
    ]
    assert book(engine)["bids"] == []
    events = engine.apply({"op": "time", "now": 49})
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "invalid_time")]


def test_price_band_rejects_at_entry_and_stops_takers() -> None:
    engine = MatchingEngine()
    engine.add_instrument(SYMBOL, band_bps=1000, reference=1000)  # 900..1100 until the first trade
    events = engine.apply(order("far", "buy", 1, 1101))
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "outside_band")]
    seed(engine, asks=[(1040, 1, "a1"), (1100, 1, "a2")], bids=[(950, 1, "b1")])
    engine.apply(order("t", "sell", 1))  # last = 950: the band moves to 855..1045
    events = engine.apply(order("m", "buy", 5))
    assert trades(events) == [("a1", 1, 1040)]  # last = 1040: the band is 936..1144 for the next command
    assert (events[-1]["reason"], events[-1]["qty"]) == ("band", 4)
    events = engine.apply(order("m2", "buy", 5))
    assert trades(events) == [("a2", 1, 1100)]


def test_every_event_has_a_global_gap_free_seq(engine: MatchingEngine) -> None:
    engine.add_instrument("B200-2027-01")
    seqs = []
    for command in [
        order("a", "sell", 5, 100),
        {**order("b", "buy", 5, 100, account="z"), "symbol": "B200-2027-01"},
        order("c", "buy", 2, 100, account="y"),
        {"op": "bogus"},
        order("c", "buy", 2, 100),
    ]:
        seqs += [e["seq"] for e in engine.apply(command)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert engine.snapshot(SYMBOL)["seq"] == seqs[-1]


BASE = {
    "op": "new",
    "symbol": SYMBOL,
    "id": "v",
    "account": "u",
    "side": "buy",
    "type": "limit",
    "price": 100,
    "qty": 1,
}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"colour": "red"}, "unknown_field"),
        ({"id": ""}, "invalid_id"),
        ({"id": 7}, "invalid_id"),
        ({"symbol": "A100-1999-01"}, "unknown_symbol"),
        ({"account": None}, "invalid_account"),
        ({"side": "hold"}, "invalid_side"),
        ({"type": "trailing"}, "invalid_type"),
        ({"qty": 1.0}, "invalid_qty"),
        ({"qty": True}, "invalid_qty"),
        ({"qty": 0}, "invalid_qty"),
        ({"qty": 2**63}, "invalid_qty"),
        ({"price": 100.0}, "invalid_price"),
        ({"price": False}, "invalid_price"),
        ({"price": -1}, "invalid_price"),
        ({"type": "market"}, "invalid_price"),
        ({"stop_price": 90}, "invalid_stop_price"),
        ({"type": "stop_limit"}, "invalid_stop_price"),
        ({"tif": "day"}, "invalid_tif"),
        ({"type": "market", "price": None, "tif": "gtc"}, "invalid_tif"),
        ({"tif": "gtd"}, "invalid_expire_at"),
        ({"tif": "gtd", "expire_at": 0}, "invalid_expire_at"),
        ({"expire_at": 10}, "invalid_expire_at"),
        ({"post_only": 1}, "invalid_post_only"),
        ({"post_only": True, "tif": "ioc"}, "invalid_post_only"),
        ({"stp": "maybe"}, "invalid_stp"),
        ({"display_qty": 2}, "invalid_display_qty"),
        ({"display_qty": 1, "tif": "ioc"}, "invalid_display_qty"),
        ({"op": "explode"}, "unknown_op"),
    ],
)
def test_bad_new_orders_are_rejected_with_a_stable_reason(
    engine: MatchingEngine, change: dict, reason: str
) -> None:
    before = engine.state_hash()
    events = engine.apply({**BASE, **change})
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", reason)]
    given_id = change.get("id", "v")
    assert events[0]["id"] == (given_id if isinstance(given_id, str) else None)
    assert book(engine) == {"bids": [], "asks": []}
    assert engine.state_hash() != before  # only the seq moved on


def test_duplicate_ids_are_rejected_even_after_the_order_closed(engine: MatchingEngine) -> None:
    engine.apply({**BASE, "type": "market", "price": None})
    events = engine.apply(BASE)
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "duplicate_id")]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, "invalid_amend"),
        ({"qty": 1.5}, "invalid_qty"),
        ({"price": "101"}, "invalid_price"),
        ({"price": 101, "tick": 1}, "unknown_field"),
    ],
)
def test_bad_amends_are_rejected(engine: MatchingEngine, change: dict, reason: str) -> None:
    engine.apply(BASE)
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "v", "account": "u", **change})
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", reason)]
    assert book(engine)["bids"] == [(100, [("v", 1)])]


def test_amending_an_untriggered_stop_is_rejected(engine: MatchingEngine) -> None:
    engine.apply({**BASE, "type": "stop_limit", "stop_price": 110})
    events = engine.apply({"op": "amend", "symbol": SYMBOL, "id": "v", "account": "u", "qty": 2})
    assert [(e["type"], e["reason"]) for e in events] == [("rejected", "invalid_amend")]
    events = engine.apply({"op": "cancel", "symbol": SYMBOL, "id": "v", "account": "u"})
    assert [(e["type"], e["reason"]) for e in events] == [("cancelled", "user")]


def test_programming_errors_raise(engine: MatchingEngine) -> None:
    with pytest.raises(TypeError):
        engine.apply([("op", "time")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already exists"):
        engine.add_instrument(SYMBOL)
    with pytest.raises(ValueError, match="band_bps"):
        engine.add_instrument("X", band_bps=0)
    with pytest.raises(KeyError):
        engine.snapshot("X")


def test_snapshot_can_be_limited_to_the_best_levels(engine: MatchingEngine) -> None:
    seed(engine, ASKS, BIDS)
    top = engine.snapshot(SYMBOL, levels=1)
    assert [lvl["price"] for lvl in top["bids"]] == [81593]
    assert [lvl["price"] for lvl in top["asks"]] == [81599]
    assert engine.snapshot(SYMBOL, levels=5) == engine.snapshot(SYMBOL)
    assert engine.snapshot(SYMBOL, levels=0)["bids"] == []
