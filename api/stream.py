"""The market-data and private-order stream behind WebSocket ``/v1/stream``.

Protocol (JSON text frames):

- client -> server: ``{"op": "auth", "key": "<api key>"}`` (needed before private channels),
  ``{"op": "subscribe", "channels": [...]}``, ``{"op": "unsubscribe", "channels": [...]}``,
  ``{"op": "ping"}``, ``{"op": "cancel_on_disconnect", "enabled": true}`` (after ``auth``, with the
  trade scope: when the connection closes, the account's live orders are cancelled).
- server -> client: ``{"type": "subscribed" | "unsubscribed" | "authenticated" | "pong" | "heartbeat"
  | "error", ...}`` and channel messages ``{"channel", "type", "seq", "prev_seq", ...}``.

Channels: ``book.<symbol>`` (a ``snapshot`` of aggregated price levels, then ``delta`` messages holding
the levels that changed, a quantity of 0 meaning the level is gone), ``trades.<symbol>``,
``ticker.<symbol>``, the private ``orders`` (the authenticated account's order updates), and the
state channels of :mod:`api.feeds` (private ``positions`` and ``balances``; ``candles.<interval>.
<symbol>``, ``mark.<symbol>``, ``index.<product>``), which start with a snapshot and number their
messages from durable state. Every
channel numbers its messages and each message repeats the number of the one before it in ``prev_seq``,
so a client that sees ``prev_seq`` differ from the last ``seq`` it holds has missed a message and must
resubscribe. Trades, tickers and orders count 1, 2, 3, ...; book messages carry the engine sequence of
the book state they describe (the ``sequence`` of ``GET /v1/instruments/{symbol}/book``), so the
first delta after a snapshot has ``prev_seq`` equal to the snapshot's ``seq``.

The hub lives on the event loop: controllers publish after the exchange service committed a change,
so a stream message never announces something that could still be rolled back. A subscriber that
falls more than :data:`QUEUE_SIZE` messages behind is disconnected (close code 1013) rather than
silently skipping messages.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.handlers import WebsocketRouteHandler

from api.auth import Authenticator
from api.errors import ApiError
from api.mirror import MERGED, MOVED_CLOSE_CODE, REFRESHED, UPSTREAM_PARAM, Mirror, OwnerOf, Peers
from market.accounts import READ, TRADE
from market.errors import BookElsewhereError, MarketError
from market.instruments import canonical_symbol

log = logging.getLogger("flopex.api")

QUEUE_SIZE = 1_000
KEY_CHECK_SECONDS = 1.0
"""How often an authenticated connection re-checks its key: a revoked key's sockets close within
this plus the authenticator's cache time (``api.auth.CACHE_SECONDS``)."""
REVOKED_CLOSE_CODE = 1008
MAX_SUBSCRIPTIONS = 50
HEARTBEAT_SECONDS = 15.0
PUBLIC_PREFIXES = ("book.", "trades.", "ticker.", "candles.", "mark.", "index.")
PRIVATE_CHANNELS = ("orders", "positions", "balances")
BOOK_CHANNELS = ("book", "trades", "ticker", "candles")
"""The public channels a book's holder numbers (a shard mirrors them from the holder)."""
CANDLE_INTERVALS = ("1m", "5m", "15m", "1h", "4h", "1d")

Levels = dict[str, int]
"""Aggregated quantity by decimal price string, for one side of a book."""


@dataclass(eq=False)
class Subscriber:
    """One connection's outgoing queue and its subscriptions."""

    send: MemoryObjectSendStream[dict[str, Any]]
    receive: MemoryObjectReceiveStream[dict[str, Any]]
    account_id: str | None = None
    key: str | None = None
    channels: set[str] = field(default_factory=set)
    overflowed: bool = False
    can_trade: bool = False
    cancel_on_disconnect: bool = False
    moved: bool = False  # a book it follows moved to another process: closed with 1012

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


def _private_topic(account_id: str, channel: str = "orders") -> str:
    return f"{channel}#{account_id}"


@dataclass(frozen=True)
class FeedSnapshot:
    """The first message of a state channel (``positions``, ``balances``, ``candles.``, ``mark.``,
    ``index.``): its ``body`` and ``seq``, a number taken from durable state (a ledger entry id, a
    trade id, a fixing id, an instant) so it keeps growing across server restarts; ``state`` is what
    later updates are compared with."""

    seq: int
    body: dict[str, Any]
    state: Any = None


def feed_topic(channel: str, account_id: str | None) -> str:
    """Where a state channel's messages go: one topic per account for the private ones."""
    if channel in PRIVATE_CHANNELS:
        assert account_id is not None
        return _private_topic(account_id, channel)
    return channel


@dataclass(frozen=True)
class BookState:
    """Aggregated levels of a book and the engine sequence they reflect."""

    seq: int
    bids: Levels
    asks: Levels


class StreamHub:
    """Fans committed market events out to subscribers, numbering each channel's messages."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Subscriber]] = defaultdict(set)
        self._seq: dict[str, int] = defaultdict(int)
        self._books: dict[str, BookState] = {}
        self._trade_ids: dict[str, int] = {}
        self._fill_ids: dict[str, int] = {}
        self._through = 0
        self._feeds: dict[str, FeedSnapshot] = {}

    # -- subscriptions -------------------------------------------------------------------------

    def validate_channel(self, channel: str, subscriber: Subscriber) -> str | None:
        """Why ``channel`` cannot be subscribed by ``subscriber``, or None if it can."""
        if channel in PRIVATE_CHANNELS:
            return None if subscriber.account_id is not None else 'authenticate first: send {"op": "auth"}'
        kind, _, rest = channel.partition(".")
        if kind == "candles":
            interval, _, symbol = rest.partition(".")
            return None if interval in CANDLE_INTERVALS and symbol else "use candles.<interval>.<symbol>"
        if channel.startswith(PUBLIC_PREFIXES) and rest:
            return None
        return (
            "unknown channel; use book.<symbol>, trades.<symbol>, ticker.<symbol>,"
            " candles.<interval>.<symbol>, mark.<symbol>, index.<product>, orders, positions or balances"
        )

    def subscribe(
        self, subscriber: Subscriber, channel: str, book: BookState | FeedSnapshot | None = None
    ) -> None:
        """Add a subscription; a book channel needs the current ``book`` and starts with its snapshot,
        a state channel with its :class:`FeedSnapshot`."""
        if channel in subscriber.channels:
            return
        if isinstance(book, FeedSnapshot):
            topic = feed_topic(channel, subscriber.account_id)
            current = self._feeds.get(topic)
            if current is None or book.seq > current.seq:
                self._feeds[topic] = book  # earlier subscribers see the jump as a gap and resubscribe
            message = {"channel": channel, "type": "snapshot", "seq": book.seq, "prev_seq": None}
            subscriber.deliver({**message, **book.body})
        elif channel.startswith("book."):
            assert book is not None, "a book subscription needs the current book"
            symbol = channel.removeprefix("book.")
            if symbol in self._books:
                self.book_update(symbol, book)  # bring earlier subscribers up to date first
            else:
                self._books[symbol] = book
            state = self._books[symbol]
            subscriber.deliver(
                {
                    "channel": channel,
                    "type": "snapshot",
                    "seq": state.seq,
                    "prev_seq": None,
                    "bids": _levels(state.bids, reverse=True),
                    "asks": _levels(state.asks, reverse=False),
                }
            )
        subscriber.channels.add(channel)
        self._topics[self._topic(subscriber, channel)].add(subscriber)

    def unsubscribe(self, subscriber: Subscriber, channels: Iterable[str] | None = None) -> None:
        """Drop some (default: all) of a subscriber's subscriptions."""
        for channel in list(subscriber.channels if channels is None else channels):
            if channel in subscriber.channels:
                subscriber.channels.discard(channel)
                self._topics[self._topic(subscriber, channel)].discard(subscriber)

    @staticmethod
    def _topic(subscriber: Subscriber, channel: str) -> str:
        return feed_topic(channel, subscriber.account_id)

    # -- publishing ------------------------------------------------------------------------------

    def _publish(self, topic: str, channel: str, body: dict[str, Any]) -> None:
        previous = self._seq[topic]
        self._seq[topic] = previous + 1
        self._send(topic, {"channel": channel, "seq": previous + 1, "prev_seq": previous, **body})

    def _send(self, topic: str, message: dict[str, Any]) -> None:
        for subscriber in list(self._topics.get(topic, ())):
            subscriber.deliver(message)

    def has_subscribers(self, channel: str) -> bool:
        """Whether anyone listens on a public channel (publishers skip building unwanted messages)."""
        return bool(self._topics.get(channel))

    def tracks_book(self, symbol: str) -> bool:
        """Whether ``symbol``'s book is followed (someone subscribed to it since the server started)."""
        return symbol in self._books

    def book_update(self, symbol: str, book: BookState) -> None:
        """Publish the levels that changed since the last book message, if ``book`` is newer.

        Book messages carry the engine sequence: a delta's ``prev_seq`` is the sequence of the state
        it applies to, so reads that arrive out of order (older sequence) are simply ignored, and a
        read that changes no level publishes nothing and leaves the chain where it was.
        """
        current = self._books.get(symbol)
        if current is None or book.seq <= current.seq:
            return
        bids, asks = _diff(current.bids, book.bids), _diff(current.asks, book.asks)
        if not bids and not asks:
            return
        self._books[symbol] = book
        channel = f"book.{symbol}"
        self._send(
            channel,
            {
                "channel": channel,
                "type": "delta",
                "seq": book.seq,
                "prev_seq": current.seq,
                "bids": _levels(bids, reverse=True),
                "asks": _levels(asks, reverse=False),
            },
        )

    def books_moved(self, symbols: Iterable[str]) -> None:
        """Close every connection following one of ``symbols``' public channels (their books moved to
        another process, which numbers them from now on): it gets 1012 and resubscribes elsewhere."""
        wanted = set(symbols)
        for topic, subscribers in list(self._topics.items()):
            kind, _, symbol = topic.partition(".")
            if kind == "candles":
                symbol = symbol.partition(".")[2]
            if kind in BOOK_CHANNELS and symbol in wanted:
                for subscriber in list(subscribers):
                    subscriber.moved = True
                    subscriber.send.close()
        for symbol in wanted:
            self._books.pop(symbol, None)
            self._trade_ids.pop(symbol, None)

    def trade_watermark(self, symbol: str) -> int | None:
        """The id of the last trade of ``symbol`` published, or None while its trades are not followed."""
        return self._trade_ids.get(symbol)

    def set_trade_watermark(self, symbol: str, trade_id: int) -> None:
        """Follow ``symbol``'s trades from after ``trade_id`` (no-op if already followed)."""
        self._trade_ids.setdefault(symbol, trade_id)

    def trade(self, symbol: str, trade_id: int, trade: dict[str, Any]) -> None:
        """Publish one trade of ``symbol`` unless a trade with this or a later id was published."""
        if trade_id <= self._trade_ids.get(symbol, 0):
            return
        self._trade_ids[symbol] = trade_id
        channel = f"trades.{symbol}"
        self._publish(channel, channel, {"type": "trade", "trade": trade})

    def trade_symbols(self) -> list[str]:
        """The symbols whose trades are followed (they have a watermark)."""
        return list(self._trade_ids)

    def trades_through(self) -> int:
        """The trade id up to which every commit's trades and fills were announced (0 at start): an
        order commit whose ``since_trade_id`` is beyond it follows trades the stream was not told of,
        so :func:`api.publish.announce` reads those back instead of publishing from the change set."""
        return self._through

    def told_through(self, trade_id: int) -> None:
        """Every trade up to ``trade_id`` has been announced (never moves back)."""
        self._through = max(self._through, trade_id)

    def ticker(self, symbol: str, ticker: dict[str, Any]) -> None:
        """Publish the new ticker of ``symbol``."""
        channel = f"ticker.{symbol}"
        self._publish(channel, channel, {"type": "ticker", "ticker": ticker})

    def order(self, account_id: str, order: dict[str, Any]) -> None:
        """Publish an order update to its owner's private ``orders`` channel."""
        self._publish(_private_topic(account_id), "orders", {"type": "order", "order": order})

    def margin_call(self, account_id: str, margin_call: dict[str, Any]) -> None:
        """Publish a margin call's new state (opened, met, liquidating, closed) to its account's
        private ``orders`` channel."""
        body = {"type": "margin_call", "margin_call": margin_call}
        self._publish(_private_topic(account_id), "orders", body)

    def delivery(self, account_id: str, delivery: dict[str, Any]) -> None:
        """Publish a delivery record's new state (allocated at delivery start, with its ``alert`` while
        no access handle is attached; a day failed or accepted) to the private ``orders`` channel of
        its buyer or provider."""
        self._publish(_private_topic(account_id), "orders", {"type": "delivery", "delivery": delivery})

    def cancelled_all(self, account_id: str, cause: str, order_ids: list[str]) -> None:
        """Tell an account that its live orders were cancelled for it (``cause``: ``cancel_all_after``
        when its dead-man switch fired, ``disconnect`` when a cancel-on-disconnect session closed)."""
        body = {"type": "cancelled_all", "cause": cause, "order_ids": order_ids}
        self._publish(_private_topic(account_id), "orders", body)

    def private_listeners(self, channel: str = "orders") -> list[str]:
        """Accounts with a live subscription to the private ``channel``."""
        prefix = _private_topic("", channel)
        return [
            topic[len(prefix) :] for topic, subs in self._topics.items() if topic.startswith(prefix) and subs
        ]

    def followed(self, prefix: str) -> list[str]:
        """Public channels starting with ``prefix`` that someone subscribes to."""
        return [topic for topic, subs in self._topics.items() if topic.startswith(prefix) and subs]

    def feed(self, topic: str) -> FeedSnapshot | None:
        """The last state published on a state channel's topic (None until someone subscribed)."""
        return self._feeds.get(topic)

    def feed_update(
        self, topic: str, channel: str, seq: int, body: dict[str, Any], state: Any = None
    ) -> None:
        """Publish an update of a followed state channel if ``seq`` is newer than its last message;
        ``prev_seq`` is that message's ``seq``."""
        current = self._feeds.get(topic)
        if current is None or seq <= current.seq:
            return
        self._feeds[topic] = FeedSnapshot(seq, body, state)
        self._send(topic, {"channel": channel, "type": "update", "seq": seq, "prev_seq": current.seq, **body})

    def fill_watermark(self, account_id: str) -> int | None:
        """The last fill (trade id) of the account announced on ``orders``; None while not followed."""
        return self._fill_ids.get(account_id)

    def set_fill_watermark(self, account_id: str, trade_id: int) -> None:
        """Move the account's fill watermark forward to ``trade_id`` (never back)."""
        self._fill_ids[account_id] = max(trade_id, self._fill_ids.get(account_id, trade_id))


def _diff(old: Levels, new: Levels) -> Levels:
    changes = {price: qty for price, qty in new.items() if old.get(price) != qty}
    changes.update({price: 0 for price in old if price not in new})
    return changes


def _levels(levels: Levels, *, reverse: bool) -> list[list[str | int]]:
    """``[[price, quantity], ...]`` best first (bids descending, asks ascending)."""
    ordered = sorted(levels.items(), key=lambda item: Decimal(item[0]), reverse=reverse)
    return [[price, qty] for price, qty in ordered]


# -- the WebSocket endpoint ------------------------------------------------------------------------

MAX_CLIENT_MESSAGE = 4_096


class ClientMessage(msgspec.Struct, forbid_unknown_fields=True):
    """What a client may send."""

    op: Literal["auth", "subscribe", "unsubscribe", "ping", "cancel_on_disconnect"]
    channels: Annotated[list[Annotated[str, msgspec.Meta(max_length=80)]], msgspec.Meta(max_length=100)] = []
    key: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    enabled: bool = True


ChannelPreparer = Callable[[str, str | None], Awaitable[BookState | FeedSnapshot | None]]
"""Readies ``(channel, account_id)`` before it is subscribed: returns the current book for ``book.``
channels and the first message of state channels, starts following trades or the account's fills for
``trades.`` and ``orders``; raises ``MarketError`` for unknown symbols."""


def canonical_channel(channel: str) -> str:
    """A public channel named with the canonical symbol (``book.X-C1.300`` is ``book.X-C1.30``)."""
    kind, dot, symbol = channel.partition(".")
    if kind == "candles":
        interval, dot, symbol = symbol.partition(".")
        kind = f"candles.{interval}"
    return f"{kind}{dot}{canonical_symbol(symbol)}" if dot else channel


def _error(code: str, detail: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail}


async def _handle(
    message: ClientMessage,
    subscriber: Subscriber,
    hub: StreamHub,
    authenticator: Authenticator,
    prepare: ChannelPreparer,
    mirror: Mirror | None = None,
) -> None:
    if message.op == "ping":
        subscriber.deliver({"type": "pong"})
    elif message.op == "auth":
        try:
            principal = await authenticator.principal(message.key or "")
        except ApiError as exc:
            subscriber.deliver(_error(exc.code, exc.message))
            return
        if READ not in principal.scopes:
            subscriber.deliver(_error("insufficient_scope", "this key lacks the read scope"))
            return
        hub.unsubscribe(subscriber, [c for c in subscriber.channels if c in PRIVATE_CHANNELS])
        if mirror is not None:
            await mirror.unsubscribe(list(PRIVATE_CHANNELS))
        if principal.account_id != subscriber.account_id:
            subscriber.cancel_on_disconnect = False  # opted in for another account
        subscriber.account_id = principal.account_id
        subscriber.key = message.key
        subscriber.can_trade = TRADE in principal.scopes
        subscriber.deliver({"type": "authenticated", "account_id": principal.account_id})
    elif message.op == "cancel_on_disconnect":
        if subscriber.account_id is None:
            subscriber.deliver(_error("unauthorized", 'authenticate first: send {"op": "auth"}'))
        elif not subscriber.can_trade:
            subscriber.deliver(
                _error("insufficient_scope", "cancelling orders needs a key with the trade scope")
            )
        else:
            subscriber.cancel_on_disconnect = message.enabled
            subscriber.deliver({"type": "cancel_on_disconnect", "enabled": message.enabled})
    elif message.op == "unsubscribe":
        hub.unsubscribe(subscriber, message.channels)
        if mirror is not None:
            await mirror.unsubscribe(message.channels)
        subscriber.deliver({"type": "unsubscribed", "channels": message.channels})
    else:
        for requested in message.channels:
            channel = canonical_channel(requested)
            problem = hub.validate_channel(channel, subscriber)
            # a merged private channel is in both sets (here and at the other shards): count it once
            held = len(subscriber.channels | (mirror.channels if mirror is not None else set()))
            if problem is None and held >= MAX_SUBSCRIPTIONS:
                problem = f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
            if problem is not None:
                subscriber.deliver({**_error("invalid_channel", problem), "channel": channel})
                continue
            try:
                book = await prepare(channel, subscriber.account_id)
            except BookElsewhereError as exc:  # another shard's book: mirrored from its stream
                moving = exc.message if mirror is None else await mirror.subscribe(channel, exc.product)
                if moving is not None:
                    subscriber.deliver({**_error("book_moving", moving), "channel": channel})
                continue
            except MarketError as exc:
                subscriber.deliver({**_error(exc.code, exc.message), "channel": channel})
                continue
            except Exception:  # e.g. the database is unreachable: say so, keep the connection
                log.exception("preparing stream channel %s failed", channel)
                subscriber.deliver(
                    {**_error("internal_error", "the channel could not be read"), "channel": channel}
                )
                continue
            subscriber.deliver({"type": "subscribed", "channels": [channel]})
            hub.subscribe(subscriber, channel, book)
            merged = channel == MERGED or channel in REFRESHED
            if merged and mirror is not None and subscriber.key is not None:
                await mirror.merge(subscriber.key, channel)  # the account on the other shards too


async def _write(socket: WebSocket[Any, Any, Any], subscriber: Subscriber, mirror: Mirror | None) -> None:
    """Send queued messages, a heartbeat after :data:`HEARTBEAT_SECONDS` idle; close a lagging client.
    A merged channel's messages (``api.mirror``) are numbered here, in the order they leave."""
    while True:
        with anyio.move_on_after(HEARTBEAT_SECONDS):
            try:
                message = await subscriber.receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                if subscriber.moved:
                    await socket.close(code=MOVED_CLOSE_CODE, reason="a book moved; reconnect")
                else:
                    await socket.close(code=1013, reason="slow consumer: messages were dropped; reconnect")
                return
            if mirror is not None and mirror.merged is not None and message.get("channel") == MERGED:
                message = mirror.merged.renumber(message)
            await socket.send_text(msgspec.json.encode(message).decode())
            continue
        await socket.send_text(msgspec.json.encode({"type": "heartbeat"}).decode())


async def _watch_key(
    socket: WebSocket[Any, Any, Any], subscriber: Subscriber, authenticator: Authenticator
) -> None:
    """Close the connection (1008) once the key it authenticated with stops working (revoked)."""
    while True:
        await anyio.sleep(KEY_CHECK_SECONDS)
        if subscriber.key is None:
            continue
        try:
            await authenticator.principal(subscriber.key)
        except ApiError:
            await socket.close(code=REVOKED_CLOSE_CODE, reason="API key revoked")
            return


Disconnected = Callable[[str], Awaitable[None]]
"""Cancels the live orders of an account whose cancel-on-disconnect session closed, and says so."""


Relay = Callable[[WebSocket[Any, Any, Any]], Awaitable[bool]]
"""Serves an accepted connection from another process when this one does not hold the books (True),
else returns False at once (``api.standby.relay_stream``)."""


def stream_route(
    prepare: ChannelPreparer,
    disconnected: Disconnected,
    relay: Relay | None = None,
    owner_of: OwnerOf | None = None,
    peers: Peers | None = None,
    refresh: Callable[[str, str], Awaitable[None]] | None = None,
) -> WebsocketRouteHandler:
    """The ``/v1/stream`` WebSocket handler (see the protocol at the top); ``relay`` may hand a
    connection to the process holding the books; ``owner_of`` names the shard holding a product's
    books, whose channels are then mirrored from its stream, and ``peers`` the other shards, whose
    private channels are merged in (:mod:`api.mirror`); ``refresh(channel, account_id)`` reads a
    private state channel afresh when another shard changed it."""

    @websocket("/v1/stream")
    async def stream(socket: WebSocket[Any, Any, Any]) -> None:
        hub: StreamHub = socket.app.state.ctx.hub
        authenticator: Authenticator = socket.app.state.ctx.authenticator
        await socket.accept()
        if relay is not None and await relay(socket):
            return
        subscriber = Subscriber.create()
        try:
            async with anyio.create_task_group() as tasks:

                async def refreshed(channel: str) -> None:
                    if refresh is not None and subscriber.account_id is not None:
                        await refresh(channel, subscriber.account_id)

                shards = owner_of is not None and peers is not None
                upstream = socket.query_params.get(UPSTREAM_PARAM) is not None  # another shard's mirror
                mirror = (
                    Mirror(socket, subscriber.deliver, tasks, owner_of, peers, refreshed)
                    if shards and not upstream
                    else None
                )

                async def write_then_stop() -> None:
                    await _write(socket, subscriber, mirror)
                    tasks.cancel_scope.cancel()

                async def watch_then_stop() -> None:
                    await _watch_key(socket, subscriber, authenticator)
                    tasks.cancel_scope.cancel()

                tasks.start_soon(write_then_stop)
                tasks.start_soon(watch_then_stop)
                while True:
                    raw = await socket.receive_text()
                    if len(raw) > MAX_CLIENT_MESSAGE:
                        subscriber.deliver(_error("message_too_large", f"at most {MAX_CLIENT_MESSAGE} bytes"))
                        continue
                    try:
                        message = msgspec.json.decode(raw, type=ClientMessage)
                    except msgspec.ValidationError as exc:
                        subscriber.deliver(_error("invalid_message", str(exc)))
                        continue
                    except msgspec.DecodeError:
                        subscriber.deliver(_error("invalid_message", "messages must be JSON objects"))
                        continue
                    await _handle(message, subscriber, hub, authenticator, prepare, mirror)
        except WebSocketDisconnect:
            pass
        finally:
            hub.unsubscribe(subscriber)
            subscriber.send.close()
            if subscriber.cancel_on_disconnect and subscriber.account_id is not None:
                with anyio.CancelScope(shield=True):  # also when the server shuts the socket down
                    try:
                        await disconnected(subscriber.account_id)
                    except Exception:  # logged; the orders stay until cancelled another way
                        log.exception("cancel-on-disconnect of %s failed", subscriber.account_id)

    return stream
