"""Hypothesis: book invariants, quantity accounting and determinism hold for any command sequence
(trailing stops and one-cancels-other pairs among them).

After every command: the book is not crossed, levels are ordered and their totals equal their orders,
every trade took the best price in time priority, each order's accepted quantity plus amendments
equals traded + decremented + closed + open, and the books rebuilt from the events alone equal the
engine's, and the list-based reference matcher emits the same events. Replaying the same commands
gives the same events and state hash.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.engine import MatchingEngine
from tests.market.engine_checks import EventBooks, check_book, levels_view
from tests.market.reference_matcher import ReferenceMatcher

SYMBOL = "H100-2027-01"
IDS = [f"o{i}" for i in range(40)]
ACCOUNTS = ["a", "b", "c"]
prices = st.integers(95, 105)
quantities = st.integers(1, 8)


@st.composite
def new_orders(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["limit", "limit", "limit", "market", "stop_limit", "stop_market"]))
    command = {"op": "new", "symbol": SYMBOL, "id": draw(st.sampled_from(IDS)),
               "account": draw(st.sampled_from(ACCOUNTS)), "side": draw(st.sampled_from(["buy", "sell"])),
               "type": kind, "qty": draw(quantities)}  # fmt: skip
    if kind in ("limit", "stop_limit"):
        command["price"] = draw(prices)
    if kind.startswith("stop"):
        command["stop_price"] = draw(prices)
    if kind == "market":
        command["tif"] = draw(st.sampled_from(["ioc", "fok"]))
    else:
        command["tif"] = draw(st.sampled_from(["gtc", "ioc", "fok", "gtd"]))
    if command["tif"] == "gtd":
        command["expire_at"] = draw(st.integers(1, 40))
    command["stp"] = draw(
        st.sampled_from(["cancel_newest", "cancel_oldest", "cancel_both", "decrement", "none"])
    )
    if kind in ("limit", "stop_limit") and command["tif"] in ("gtc", "gtd") and draw(st.booleans()):
        command["display_qty"] = draw(st.integers(1, command["qty"]))
    return command


@st.composite
def trailing_orders(draw: st.DrawFn) -> dict:
    """A new order turned into a trailing stop (its child a limit or a market order)."""
    command = draw(new_orders())
    command.pop("stop_price", None)
    kind = draw(st.sampled_from(["trailing_stop_limit", "trailing_stop_market"]))
    command.update(type=kind, trail=draw(st.integers(1, 4)))
    if kind == "trailing_stop_limit":
        command["price"] = draw(prices)
    else:
        command.pop("price", None)
        command.pop("display_qty", None)
    if draw(st.booleans()):
        command["activation_price"] = draw(prices)
    return command


@st.composite
def oco_pairs(draw: st.DrawFn) -> dict:
    """Two legs, mostly a valid pair (a resting take-profit and a stop of the same side and size)."""
    side, qty = draw(st.sampled_from(["buy", "sell"])), draw(quantities)
    take = {
        "id": draw(st.sampled_from(IDS)),
        "side": side,
        "qty": qty,
        "type": "limit",
        "price": draw(prices),
    }
    take["tif"] = draw(st.sampled_from(["gtc", "gtc", "gtd", "ioc"]))
    if take["tif"] == "gtd":
        take["expire_at"] = draw(st.integers(1, 40))
    stop = {"id": draw(st.sampled_from(IDS)), "side": side, "qty": qty}
    kind = draw(st.sampled_from(["stop_market", "stop_limit", "trailing_stop_market"]))
    stop["type"] = kind
    if kind == "trailing_stop_market":
        stop["trail"] = draw(st.integers(1, 4))
    else:
        stop["stop_price"] = draw(prices)
    if kind == "stop_limit":
        stop["price"] = draw(prices)
    legs = draw(st.permutations([take, stop]))
    return {"op": "oco", "symbol": SYMBOL, "account": draw(st.sampled_from(ACCOUNTS)), "link": "L",
            "orders": legs}  # fmt: skip


commands = st.one_of(
    new_orders(),
    new_orders(),
    trailing_orders(),
    oco_pairs(),
    st.fixed_dictionaries(
        {"op": st.just("cancel"), "symbol": st.just(SYMBOL), "id": st.sampled_from(IDS),
         "account": st.sampled_from(ACCOUNTS)}
    ),
    st.fixed_dictionaries(
        {"op": st.just("amend"), "symbol": st.just(SYMBOL), "id": st.sampled_from(IDS),
         "account": st.sampled_from(ACCOUNTS)},
        optional={"qty": st.integers(-1, 9), "price": prices},
    ),
    st.builds(lambda now: {"op": "time", "now": now}, st.integers(0, 40)),
)  # fmt: skip


def fresh() -> MatchingEngine:
    engine = MatchingEngine()
    engine.add_instrument(SYMBOL, band_bps=800, reference=100)
    return engine


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands, max_size=60))
def test_invariants_hold_after_every_command(sequence: list[dict]) -> None:
    engine = fresh()
    reference = ReferenceMatcher()
    reference.add_instrument(SYMBOL, band_bps=800, reference=100)
    rebuilt = EventBooks()
    stream = []
    for command in sequence:
        events = engine.apply(command)
        assert events == reference.apply(command)
        stream += events
        rebuilt.feed(events)
        snapshot = engine.snapshot(SYMBOL)
        check_book(snapshot)
        assert levels_view(snapshot) == rebuilt.snapshot_view(SYMBOL)
        assert snapshot["last"] == rebuilt.last.get(SYMBOL)
        assert [e["type"] for e in events].count("accepted") <= (2 if command["op"] == "oco" else 1)
    # live orders: what the event accounting says is open is what the book holds
    resting = {o["id"]: o["qty"] for side in ("bids", "asks") for lvl in engine.snapshot(SYMBOL)[side]
               for o in lvl["orders"]}  # fmt: skip
    for oid, order in rebuilt.orders.items():
        if oid in rebuilt.closed:
            continue
        assert order["traded"] + order["decremented"] + order["open"] == order["qty"] + order["amended"]
        assert resting.get(oid, order["open"]) == order["open"]
    replayed = fresh()
    again = [event for command in sequence for event in replayed.apply(command)]
    assert json.dumps(again) == json.dumps(stream)
    assert replayed.state_hash() == engine.state_hash()


@settings(max_examples=200, deadline=None)
@given(st.lists(new_orders(), max_size=30))
def test_each_new_order_gets_exactly_one_outcome(sequence: list[dict]) -> None:
    """A new order ends its command rejected, or accepted with one closing event (or waiting as a stop).

    Stops that its trades trigger run later in the same command and may then hit the rested remainder
    as a maker (``filled``, or ``cancelled`` by self-trade prevention); those events come after a
    ``triggered`` event and are not the order's own outcome.
    """
    engine = fresh()
    for command in sequence:
        events = engine.apply(command)
        first_trigger = next(
            (i for i, e in enumerate(events) if e["type"] == "triggered" and e["id"] != command["id"]),
            len(events),
        )
        later = [e["type"] for e in events[first_trigger:] if e.get("id") == command["id"]]
        assert later in ([], ["filled"], ["cancelled"])
        if later:
            assert any(e["type"] == "resting" and e["id"] == command["id"] for e in events[:first_trigger])
        events = events[:first_trigger]
        own = [e["type"] for e in events if e.get("id") == command["id"] and e["type"] != "triggered"]
        if own[0] == "rejected":
            assert own == ["rejected"]
        elif command["type"].startswith("stop") and {"type": "triggered", "id": command["id"]} not in [
            {"type": e["type"], "id": e.get("id")} for e in events
        ]:
            assert own == ["accepted"]
        else:
            assert own[0] == "accepted"
            assert len(own) == 2
            assert own[1] in ("resting", "filled", "expired")
