"""The market-data and private-order stream behind WebSocket ``/v1/stream``.

Protocol (JSON text frames):

- client -> server: ``{"op": "auth", "key": "<api key>"}`` (needed before private channels),
  ``{"op": "subscribe", "channels": [...]}``, ``{"op": "unsubscribe", "channels": [...]}``,
  ``{"op": "ping"}``.
- server -> client: ``{"type": "subscribed" | "unsubscribed" | "authenticated" | "pong" | "heartbeat"
  | "error", ...}`` and channel messages ``{"channel", "type", "seq", "prev_seq", ...}``.

Channels: ``book.<symbol>`` (a ``snapshot`` of aggregated price levels, then ``delta`` messages holding
the levels that changed, a quantity of 0 meaning the level is gone), ``trades.<symbol>``,
``ticker.<symbol>`` and the private ``orders`` (the authenticated account's order updates). Every
channel numbers its messages: ``seq`` increases by one per message and ``prev_seq`` repeats the previous
one, so a client that sees ``prev_seq`` differ from the last ``seq`` it holds has missed a message and
must resubscribe. Book deltas continue from the snapshot's ``seq``.

The hub lives on the event loop: controllers publish after the exchange service committed a change,
so a stream message never announces something that could still be rolled back. A subscriber that
falls more than :data:`QUEUE_SIZE` messages behind is disconnected (close code 1013) rather than
silently skipping messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

QUEUE_SIZE = 1_000
MAX_SUBSCRIPTIONS = 50
HEARTBEAT_SECONDS = 15.0
PUBLIC_PREFIXES = ("book.", "trades.", "ticker.")
PRIVATE_CHANNELS = ("orders",)

Levels = dict[str, int]
"""Aggregated quantity by decimal price string, for one side of a book."""
BookReader = Callable[[str], tuple[Levels, Levels]]
"""Reads the current (bids, asks) levels of a symbol from the exchange."""


@dataclass(eq=False)
class Subscriber:
    """One connection's outgoing queue and its subscriptions."""

    send: MemoryObjectSendStream[dict[str, Any]]
    receive: MemoryObjectReceiveStream[dict[str, Any]]
    account_id: int | None = None
    channels: set[str] = field(default_factory=set)
    overflowed: bool = False

    @classmethod
    def create(cls) -> Subscriber:
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](QUEUE_SIZE)
        return cls(send=send, receive=receive)

    def deliver(self, message: dict[str, Any]) -> None:
        """Queue a message without waiting; a full queue marks the subscriber for disconnection."""
        if self.overflowed:
            return
        try:
            self.send.send_nowait(message)
        except anyio.WouldBlock:
            self.overflowed = True
            self.send.close()


def _private_topic(account_id: int) -> str:
    return f"orders#{account_id}"


class StreamHub:
    """Fans committed market events out to subscribers, numbering each channel's messages."""

    def __init__(self, read_book: BookReader) -> None:
        self._read_book = read_book
        self._topics: dict[str, set[Subscriber]] = defaultdict(set)
        self._seq: dict[str, int] = defaultdict(int)
        self._books: dict[str, tuple[Levels, Levels]] = {}

    # -- subscriptions -------------------------------------------------------------------------

    def validate_channel(self, channel: str, subscriber: Subscriber) -> str | None:
        """Why ``channel`` cannot be subscribed by ``subscriber``, or None if it can."""
        if channel in PRIVATE_CHANNELS:
            return None if subscriber.account_id is not None else 'authenticate first: send {"op": "auth"}'
        if channel.startswith(PUBLIC_PREFIXES) and channel.split(".", 1)[1]:
            return None
        return "unknown channel; use book.<symbol>, trades.<symbol>, ticker.<symbol> or orders"

    def subscribe(self, subscriber: Subscriber, channel: str) -> None:
        """Add a subscription; a book channel starts with a snapshot at the channel's current seq."""
        if channel in subscriber.channels:
            return
        subscriber.channels.add(channel)
        self._topics[self._topic(subscriber, channel)].add(subscriber)
        if channel.startswith("book."):
            symbol = channel.removeprefix("book.")
            if symbol in self._books:
                self.book_changed(symbol)  # catch up first, so the snapshot and its seq agree
            else:
                self._books[symbol] = self._read_book(symbol)
            bids, asks = self._books[symbol]
            seq = self._seq[channel]
            subscriber.deliver(
                {
                    "channel": channel,
                    "type": "snapshot",
                    "seq": seq,
                    "prev_seq": None,
                    "bids": _levels(bids, reverse=True),
                    "asks": _levels(asks, reverse=False),
                }
            )

    def unsubscribe(self, subscriber: Subscriber, channels: Iterable[str] | None = None) -> None:
        """Drop some (default: all) of a subscriber's subscriptions."""
        for channel in list(subscriber.channels if channels is None else channels):
            if channel in subscriber.channels:
                subscriber.channels.discard(channel)
                self._topics[self._topic(subscriber, channel)].discard(subscriber)

    @staticmethod
    def _topic(subscriber: Subscriber, channel: str) -> str:
        if channel in PRIVATE_CHANNELS:
            assert subscriber.account_id is not None
            return _private_topic(subscriber.account_id)
        return channel

    # -- publishing ------------------------------------------------------------------------------

    def _publish(self, topic: str, channel: str, body: dict[str, Any]) -> None:
        previous = self._seq[topic]
        self._seq[topic] = previous + 1
        message = {"channel": channel, "seq": previous + 1, "prev_seq": previous, **body}
        for subscriber in list(self._topics.get(topic, ())):
            subscriber.deliver(message)

    def book_changed(self, symbol: str) -> None:
        """Publish the levels of ``symbol`` that changed since the last book message, if any."""
        channel = f"book.{symbol}"
        if symbol not in self._books:
            if not self._topics.get(channel):
                return  # nobody has seen this book yet: the next subscriber gets a fresh snapshot
            self._books[symbol] = ({}, {})
        old_bids, old_asks = self._books[symbol]
        bids, asks = self._read_book(symbol)
        bid_changes, ask_changes = _diff(old_bids, bids), _diff(old_asks, asks)
        self._books[symbol] = (bids, asks)
        if bid_changes or ask_changes:
            self._publish(
                channel,
                channel,
                {
                    "type": "delta",
                    "bids": _levels(bid_changes, reverse=True),
                    "asks": _levels(ask_changes, reverse=False),
                },
            )

    def trade(self, symbol: str, trade: dict[str, Any]) -> None:
        """Publish one trade of ``symbol``."""
        channel = f"trades.{symbol}"
        self._publish(channel, channel, {"type": "trade", "trade": trade})

    def ticker(self, symbol: str, ticker: dict[str, Any]) -> None:
        """Publish the new ticker of ``symbol``."""
        channel = f"ticker.{symbol}"
        self._publish(channel, channel, {"type": "ticker", "ticker": ticker})

    def order(self, account_id: int, order: dict[str, Any]) -> None:
        """Publish an order update to its owner's private ``orders`` channel."""
        self._publish(_private_topic(account_id), "orders", {"type": "order", "order": order})

    def wants(self, channel: str) -> bool:
        """Whether anyone listens on a public channel (lets publishers skip building messages)."""
        return bool(self._topics.get(channel))

    def sequence(self, channel: str) -> int:
        """The ``seq`` of the last message published on a public channel (0 before the first)."""
        return self._seq[channel]


def _diff(old: Levels, new: Levels) -> Levels:
    changes = {price: qty for price, qty in new.items() if old.get(price) != qty}
    changes.update({price: 0 for price in old if price not in new})
    return changes


def _levels(levels: Levels, *, reverse: bool) -> list[list[str | int]]:
    """``[[price, quantity], ...]`` best first (bids descending, asks ascending)."""
    ordered = sorted(levels.items(), key=lambda item: Decimal(item[0]), reverse=reverse)
    return [[price, qty] for price, qty in ordered]
