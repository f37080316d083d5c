"""The stream hub: numbering, book snapshots and deltas, private channels, slow consumers."""

from __future__ import annotations

from typing import Any

import anyio

from api.stream import QUEUE_SIZE, BookState, StreamHub, Subscriber


def drain(subscriber: Subscriber) -> list[dict[str, Any]]:
    messages = []
    while True:
        try:
            messages.append(subscriber.receive.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            return messages


def test_book_snapshot_then_deltas_chain_by_prev_seq() -> None:
    hub = StreamHub()
    sub = Subscriber.create()
    hub.subscribe(sub, "book.X", BookState(5, {"2.00": 3}, {"2.10": 1}))
    hub.book_update("X", BookState(7, {"2.00": 3, "2.05": 2}, {"2.10": 1}))
    hub.book_update("X", BookState(6, {}, {}))  # an older read arriving late: ignored
    hub.book_update("X", BookState(8, {"2.00": 3, "2.05": 2}, {"2.10": 1}))  # nothing changed
    hub.book_update("X", BookState(9, {"2.05": 2}, {"2.10": 1, "2.20": 4}))
    snapshot, first, second = drain(sub)
    assert snapshot == {
        "channel": "book.X",
        "type": "snapshot",
        "seq": 5,
        "prev_seq": None,
        "bids": [["2.00", 3]],
        "asks": [["2.10", 1]],
    }
    assert (first["seq"], first["prev_seq"], first["bids"], first["asks"]) == (7, 5, [["2.05", 2]], [])
    assert (second["seq"], second["prev_seq"]) == (9, 7)
    assert second["bids"] == [["2.00", 0]]
    assert second["asks"] == [["2.20", 4]]


def test_late_subscriber_snapshot_agrees_with_earlier_subscribers_deltas() -> None:
    hub = StreamHub()
    early, late = Subscriber.create(), Subscriber.create()
    hub.subscribe(early, "book.X", BookState(1, {"1.00": 1}, {}))
    hub.subscribe(late, "book.X", BookState(3, {"1.00": 1, "0.90": 5}, {}))
    (_, delta) = drain(early)
    (snapshot,) = drain(late)
    assert delta["seq"] == snapshot["seq"] == 3
    assert snapshot["bids"] == [["1.00", 1], ["0.90", 5]]  # bids best (highest) first


def test_untracked_books_publish_nothing() -> None:
    hub = StreamHub()
    hub.book_update("Y", BookState(1, {"1.00": 1}, {}))
    assert not hub.tracks_book("Y")


def test_trades_count_consecutively_and_private_orders_reach_only_their_owner() -> None:
    hub = StreamHub()
    alice, bob = Subscriber.create(), Subscriber.create()
    alice.account_id, bob.account_id = "acc_a", "acc_b"
    for sub in (alice, bob):
        hub.subscribe(sub, "trades.X")
        hub.subscribe(sub, "orders")
    hub.trade("X", 1, {"id": 1})
    hub.trade("X", 2, {"id": 2})
    hub.trade("X", 2, {"id": 2})  # read twice by concurrent requests: published once
    hub.order("acc_a", {"id": "o1"})
    alice_messages, bob_messages = drain(alice), drain(bob)
    assert [(m["seq"], m["prev_seq"]) for m in alice_messages if m["channel"] == "trades.X"] == [
        (1, 0),
        (2, 1),
    ]
    assert [m["order"]["id"] for m in alice_messages if m["channel"] == "orders"] == ["o1"]
    assert not [m for m in bob_messages if m["channel"] == "orders"]


def test_private_channel_needs_an_account_and_unknown_channels_are_refused() -> None:
    hub = StreamHub()
    anonymous = Subscriber.create()
    assert hub.validate_channel("orders", anonymous) is not None
    assert hub.validate_channel("candles.X", anonymous) is not None
    assert hub.validate_channel("book.", anonymous) is not None
    assert hub.validate_channel("ticker.X", anonymous) is None


def test_slow_consumer_is_cut_off_instead_of_losing_messages_silently() -> None:
    hub = StreamHub()
    slow = Subscriber.create()
    hub.subscribe(slow, "trades.X")
    for i in range(QUEUE_SIZE + 1):
        hub.trade("X", i + 1, {"id": i})
    assert slow.overflowed
    assert len(drain(slow)) == QUEUE_SIZE


def test_unsubscribe_stops_delivery() -> None:
    hub = StreamHub()
    sub = Subscriber.create()
    hub.subscribe(sub, "ticker.X")
    hub.unsubscribe(sub, ["ticker.X"])
    hub.ticker("X", {"last": "1.00"})
    assert drain(sub) == []
