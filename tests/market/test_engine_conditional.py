"""Trailing stops and one-cancels-other pairs in the matching engine, scenario by scenario.

The random differential test (test_engine_differential.py) checks them against the reference
matcher; these pin the documented rules down with worked examples (docs/matching.md).
"""

from __future__ import annotations

import pytest

from market.engine import MatchingEngine
from tests.market.test_engine_scenarios import SYMBOL, book, of_type, order, seed, trades


def trade_at(engine: MatchingEngine, price: int, tag: str) -> None:
    """Print one trade at ``price`` between two market makers (a resting ask lifted by a buy)."""
    seed(engine, asks=[(price, 1, f"a{tag}")])
    events = engine.apply(order(f"b{tag}", "buy", 1, price, account=f"lift-{tag}"))
    assert trades(events) == [(f"a{tag}", 1, price)]


def trailed(events: list[dict]) -> list[tuple[str, int]]:
    return [(e["id"], e["stop_price"]) for e in of_type(events, "trailed")]


def oco(link: str, *legs: dict, account: str = "acct") -> dict:
    return {"op": "oco", "symbol": SYMBOL, "account": account, "link": link, "orders": list(legs)}


def leg(oid: str, side: str, qty: int, **fields) -> dict:
    return {"id": oid, "side": side, "qty": qty, **fields}


@pytest.fixture
def engine() -> MatchingEngine:
    engine = MatchingEngine()
    engine.add_instrument(SYMBOL)
    return engine


def test_a_sell_trailing_stop_follows_the_high_and_triggers_on_the_pullback(engine: MatchingEngine) -> None:
    trade_at(engine, 100, "1")
    events = engine.apply(order("ts", "sell", 2, type="trailing_stop_market", trail=3, account="me"))
    assert events[0]["order_type"] == "trailing_stop_market"
    assert (events[0]["trail"], events[0]["activation_price"], events[0]["stop_price"]) == (3, None, None)
    assert trailed(events) == [("ts", 97)]  # armed from the last price: 100 - 3
    for price, tag, want in ((104, "2", [("ts", 101)]), (102, "3", []), (106, "4", [("ts", 103)])):
        seed(engine, asks=[(price, 1, f"a{tag}")])
        events = engine.apply(order(f"b{tag}", "buy", 1, price, account=f"lift-{tag}"))
        assert trailed(events) == want  # the trigger only moves up, with each new high
    seed(engine, bids=[(103, 1, "bid1"), (90, 5, "bid2")])
    events = engine.apply(order("hit", "sell", 1, 103, account="seller"))  # last 103: at the trigger
    assert [e["id"] for e in of_type(events, "triggered")] == ["ts"]
    assert trades(events) == [("bid1", 1, 103), ("bid2", 2, 90)]  # it ran as a market sell
    assert of_type(events, "filled")[-1]["id"] == "ts"


def test_a_buy_trailing_stop_limit_follows_the_low_and_becomes_its_limit_child(
    engine: MatchingEngine,
) -> None:
    trade_at(engine, 100, "1")
    events = engine.apply(order("tb", "buy", 3, 120, type="trailing_stop_limit", trail=5, account="me"))
    assert trailed(events) == [("tb", 105)]
    seed(engine, bids=[(95, 1, "bid1")])
    events = engine.apply(order("s1", "sell", 1, 95, account="seller"))
    assert trailed(events) == [("tb", 100)]  # the low 95 + 5
    seed(engine, asks=[(100, 1, "ask1")])
    events = engine.apply(order("buy1", "buy", 1, 100, account="buyer"))
    assert [e["id"] for e in of_type(events, "triggered")] == ["tb"]
    assert book(engine)["bids"] == [(120, [("tb", 3)])]  # nothing left to buy: it rests at its limit


def test_a_sweep_moves_the_trail_by_its_best_price_and_the_trigger_tests_the_last(
    engine: MatchingEngine,
) -> None:
    """A sell taker walks the bids 105, 104, 103: the high 105 moves a sell trail; the last, 103,
    is what the trigger is tested against, as for plain stops."""
    trade_at(engine, 100, "1")
    engine.apply(order("ts", "sell", 1, type="trailing_stop_market", trail=2, account="me"))
    seed(engine, bids=[(105, 1, "x"), (104, 1, "y"), (103, 1, "z")])
    events = engine.apply(order("sweep", "sell", 3, 103, account="seller"))
    assert trailed(events) == [("ts", 103)]  # 105 - 2
    assert [e["id"] for e in of_type(events, "triggered")] == ["ts"]  # last 103 <= 103
    at = [(e["type"], e.get("id")) for e in events].index
    assert at(("trailed", "ts")) < at(("filled", "sweep")) < at(("triggered", "ts"))


def test_an_activation_price_arms_the_trail_only_once_it_trades(engine: MatchingEngine) -> None:
    trade_at(engine, 100, "1")
    events = engine.apply(
        order("ts", "sell", 1, type="trailing_stop_market", trail=2, activation_price=110, account="me")
    )
    assert trailed(events) == []  # 100 is below the activation price: no trigger yet
    trade_at(engine, 95, "2")  # far below, but unarmed: nothing happens
    trade_at(engine, 111, "3")
    assert engine.state_hash()  # (state with an armed trailing stop hashes)
    seed(engine, bids=[(109, 1, "bid")])
    events = engine.apply(order("hit", "sell", 1, 109, account="seller"))
    assert [e["id"] for e in of_type(events, "triggered")] == ["ts"]  # armed at 111 - 2 = 109


def test_a_trailing_stop_on_a_book_without_trades_is_armed_by_the_first_trade(engine: MatchingEngine) -> None:
    events = engine.apply(order("ts", "buy", 1, type="trailing_stop_market", trail=4, account="me"))
    assert trailed(events) == []
    seed(engine, asks=[(50, 1, "a")])
    events = engine.apply(order("b", "buy", 1, 50, account="buyer"))
    assert trailed(events) == [("ts", 54)]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "trailing_stop_market"}, "invalid_trail"),
        ({"type": "trailing_stop_market", "trail": 0}, "invalid_trail"),
        ({"type": "trailing_stop_market", "trail": 1.5}, "invalid_trail"),
        ({"type": "trailing_stop_market", "trail": True}, "invalid_trail"),
        ({"type": "stop_market", "stop_price": 5, "trail": 2}, "invalid_trail"),
        ({"type": "trailing_stop_market", "trail": 2, "stop_price": 5}, "invalid_stop_price"),
        ({"type": "trailing_stop_market", "trail": 2, "activation_price": 0}, "invalid_activation_price"),
        ({"type": "limit", "price": 5, "activation_price": 5}, "invalid_activation_price"),
        ({"type": "trailing_stop_limit", "trail": 2}, "invalid_price"),
        ({"type": "trailing_stop_market", "trail": 2, "post_only": True}, "invalid_post_only"),
    ],
)
def test_trailing_stop_fields_are_checked(engine: MatchingEngine, fields: dict, reason: str) -> None:
    command = {"op": "new", "symbol": SYMBOL, "id": "x", "account": "a", "side": "sell", "qty": 1, **fields}
    assert engine.apply(command) == [{"type": "rejected", "seq": 1, "id": "x", "reason": reason}]


def test_a_take_profit_fill_cancels_its_stop_in_the_same_command(engine: MatchingEngine) -> None:
    trade_at(engine, 100, "1")
    events = engine.apply(
        oco(
            "L1",
            leg("tp", "sell", 5, type="limit", price=110),
            leg("sl", "sell", 5, type="stop_market", stop_price=95),
        )
    )
    assert [e["type"] for e in events] == ["accepted", "accepted", "linked", "resting"]
    assert events[2] == {"type": "linked", "seq": events[2]["seq"], "link": "L1", "ids": ["tp", "sl"]}
    events = engine.apply(order("lift", "buy", 2, 110, account="buyer"))  # a partial fill of the take-profit
    assert trades(events) == [("tp", 2, 110)]
    assert of_type(events, "cancelled") == [
        {"type": "cancelled", "seq": events[2]["seq"], "id": "sl", "qty": 5, "reason": "oco"}
    ]
    assert book(engine)["asks"] == [(110, [("tp", 3)])]  # the rest of the take-profit stands alone
    trade_at(engine, 90, "2")
    assert book(engine)["asks"] == [(110, [("tp", 3)])]  # the stop is gone: nothing triggered


def test_a_triggered_stop_cancels_its_take_profit(engine: MatchingEngine) -> None:
    trade_at(engine, 100, "1")
    engine.apply(
        oco(
            "L1",
            leg("sl", "sell", 1, type="trailing_stop_market", trail=3),
            leg("tp", "sell", 1, type="limit", price=110),
        )
    )
    seed(engine, bids=[(97, 1, "bid")])
    events = engine.apply(order("hit", "sell", 1, 97, account="seller"))
    kinds = [(e["type"], e.get("id")) for e in events]
    assert kinds[kinds.index(("triggered", "sl")) + 1] == ("cancelled", "tp")
    assert of_type(events, "cancelled")[0]["reason"] == "oco"
    assert book(engine)["asks"] == []


def test_cancelling_one_leg_cancels_both_and_expiry_does_too(engine: MatchingEngine) -> None:
    engine.apply(
        oco(
            "L1",
            leg("tp", "buy", 1, type="limit", price=90),
            leg("sl", "buy", 1, type="stop_limit", price=112, stop_price=110),
        )
    )
    events = engine.apply({"op": "cancel", "symbol": SYMBOL, "id": "sl", "account": "acct"})
    assert [(e["type"], e["id"], e["reason"]) for e in events] == [
        ("cancelled", "sl", "user"),
        ("cancelled", "tp", "oco"),
    ]
    engine.apply(
        oco(
            "L2",
            leg("tp2", "buy", 1, type="limit", price=90, tif="gtd", expire_at=10),
            leg("sl2", "buy", 1, type="stop_market", stop_price=110),
        )
    )
    events = engine.apply({"op": "time", "now": 10})
    assert [(e["type"], e["id"], e["reason"]) for e in events] == [
        ("expired", "tp2", "gtd"),
        ("cancelled", "sl2", "oco"),
    ]


def test_a_take_profit_that_crosses_on_entry_cancels_the_stop_at_once(engine: MatchingEngine) -> None:
    seed(engine, bids=[(105, 2, "bid")])
    events = engine.apply(
        oco(
            "L1",
            leg("tp", "sell", 1, type="limit", price=104),
            leg("sl", "sell", 1, type="stop_market", stop_price=90),
        )
    )
    # the stop goes after the run's trades and before the take-profit's own outcome
    assert [e["type"] for e in events] == ["accepted", "accepted", "linked", "trade", "cancelled", "filled"]
    assert events[-2]["id"] == "sl"


@pytest.mark.parametrize(
    ("legs", "reasons"),
    [
        (  # two limits: no stop
            [leg("a", "sell", 1, type="limit", price=110), leg("b", "sell", 1, type="limit", price=120)],
            ["invalid_oco", "invalid_oco"],
        ),
        (  # opposite sides
            [
                leg("a", "sell", 1, type="limit", price=110),
                leg("b", "buy", 1, type="stop_market", stop_price=95),
            ],
            ["invalid_oco", "invalid_oco"],
        ),
        (  # different quantities
            [
                leg("a", "sell", 1, type="limit", price=110),
                leg("b", "sell", 2, type="stop_market", stop_price=95),
            ],
            ["invalid_oco", "invalid_oco"],
        ),
        (  # a sell take-profit below its stop
            [
                leg("a", "sell", 1, type="limit", price=90),
                leg("b", "sell", 1, type="stop_market", stop_price=95),
            ],
            ["invalid_oco", "invalid_oco"],
        ),
        (  # an IOC take-profit would never stand
            [
                leg("a", "sell", 1, type="limit", price=110, tif="ioc"),
                leg("b", "sell", 1, type="stop_market", stop_price=95),
            ],
            ["invalid_oco", "invalid_oco"],
        ),
        (  # a leg failing its own checks
            [
                leg("a", "sell", 0, type="limit", price=110),
                leg("b", "sell", 1, type="stop_market", stop_price=95),
            ],
            ["invalid_qty", "oco_leg_rejected"],
        ),
        (  # the same id twice
            [
                leg("a", "sell", 1, type="limit", price=110),
                leg("a", "sell", 1, type="stop_market", stop_price=95),
            ],
            ["oco_leg_rejected", "duplicate_id"],
        ),
        (  # a leg names its own account
            [
                leg("a", "sell", 1, type="limit", price=110, account="x"),
                leg("b", "sell", 1, type="stop_market", stop_price=95),
            ],
            ["unknown_field", "unknown_field"],
        ),
    ],
)
def test_a_pair_is_admitted_whole_or_not_at_all(engine: MatchingEngine, legs: list, reasons: list) -> None:
    events = engine.apply(oco("L", *legs))
    assert [(e["type"], e["id"], e["reason"]) for e in events] == [
        ("rejected", leg_["id"], reason) for leg_, reason in zip(legs, reasons, strict=True)
    ]
    assert book(engine) == {"bids": [], "asks": []}
    assert engine.apply({"op": "oco", "symbol": SYMBOL, "account": "a", "link": "L", "orders": [{}]}) == [
        {"type": "rejected", "seq": 3, "id": None, "reason": "invalid_oco"}
    ]


def test_replaying_conditional_orders_reproduces_events_and_state() -> None:
    from tests.market.engine_checks import random_commands, run_commands

    commands = random_commands(11, 2_000, [SYMBOL])
    assert any(c.get("op") == "oco" for c in commands)
    first, second = MatchingEngine(), MatchingEngine()
    for engine in (first, second):
        engine.add_instrument(SYMBOL)
    assert run_commands(first, commands) == run_commands(second, commands)
    assert first.state_hash() == second.state_hash()
