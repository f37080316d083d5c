"""The stream's channels of books another shard holds, mirrored from that shard's own stream.

A shard's hub sees only its own books change. When a connection on this process subscribes to
``book.X``, ``trades.X``, ``ticker.X`` or ``candles.<interval>.X`` and another shard holds X, the
connection opens one WebSocket to that shard's ``/v1/stream`` (one per shard, for as long as the
connection lives), subscribes there, and every message of those channels is passed through as the
holder sent it: its ``seq``/``prev_seq`` reach the client unchanged, so gap detection per book works
as on the holder. When the holder goes away (it died, its books move), the client's connection is
closed with 1012 (*service restart*): it reconnects, resubscribes, and the new holder's snapshot says
whether anything changed meanwhile -- the same contract as a standby's relayed stream.

The private channels are *merged*: an authenticated connection subscribing to ``orders``,
``positions`` or ``balances`` follows the account on that channel at every other live shard too
(authenticated there once with the same key). What a shard's message becomes depends on the channel:

- ``orders`` carries events (an order's update, a margin call): the shard's message is passed on
  and the connection numbers the merged channel itself (:class:`Merged`), so the client sees one
  unbroken ``seq``/``prev_seq`` chain whichever shard an update came from; a gap in a shard's own
  chain is passed on as a gap (the client resubscribes);
- ``positions`` and ``balances`` carry the account's state, which is in the database: the shard's
  message only says that it changed, and this process reads it afresh (``refresh``) and publishes it
  on its own chain, numbered from durable state as always. Passing the shard's message on would let a
  stale read from one shard arrive after a newer one from another.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import websockets
from anyio.abc import TaskGroup
from litestar import WebSocket

log = logging.getLogger(__name__)

OwnerOf = Callable[[str], str | None]
"""The base URL of the live process holding a product's books (None: no live holder)."""

Peers = Callable[[], set[str]]
"""The base URLs of the other live shards."""

MERGED = "orders"
"""The private event channel a connection follows on every shard at once, renumbered here."""

REFRESHED = frozenset({"positions", "balances"})
"""The private state channels a connection follows on every shard at once: a shard's message makes
this process read the state afresh."""

Refresh = Callable[[str], Awaitable[None]]
"""Reads one of :data:`REFRESHED` afresh for the connection's account and publishes it if it changed."""

UPSTREAM_PARAM = "upstream"
"""Query parameter marking a mirror's own connection to another shard's stream: that connection is
served from the shard's own books and hub only, never merged or mirrored further (else each shard's
upstream would follow the account back on the first, and so on, one connection per hop)."""

MOVED_CLOSE_CODE = 1012
"""WebSocket close code when a mirrored shard went away (RFC 6455 *service restart*)."""


class Merged:
    """One connection's numbering of a merged channel: every message gets the next ``seq`` and the
    one before as ``prev_seq``; a message marked ``gap`` (its shard's chain broke) skips a number,
    so the client's gap detection sees it."""

    def __init__(self) -> None:
        self.last = 0

    def renumber(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``message`` (shared with other subscribers: never changed) numbered in order."""
        previous = self.last + (1 if message.get("gap") else 0)
        self.last = previous + 1
        numbered = {k: v for k, v in message.items() if k != "gap"}
        numbered.update(seq=self.last, prev_seq=previous)
        return numbered


class Mirror:
    """One stream connection's channels served by other shards (see the module)."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        deliver: Callable[[dict[str, Any]], None],
        tasks: TaskGroup,
        owner_of: OwnerOf,
        peers: Peers,
        refresh: Refresh,
    ) -> None:
        self._owner_of = owner_of
        self._refresh = refresh
        self._keys: dict[str, str] = {}  # shard -> the key its upstream is authenticated with
        self._peers = peers
        self._chains: dict[tuple[str, str], int] = {}  # (shard, merged channel) -> its last seq
        self.merged: Merged | None = None
        self._socket = socket
        self._deliver = deliver
        self._tasks = tasks
        self._upstreams: dict[str, Any] = {}
        self.channels: set[str] = set()

    async def subscribe(self, channel: str, product: str) -> str | None:
        """Subscribe ``channel`` at the shard holding ``product`` (acknowledged to the client before
        the shard's snapshot can arrive); why it cannot be done now, or None."""
        owner = self._owner_of(product)
        if owner is None:
            return "the book is moving to another process; subscribe again shortly"
        upstream = await self._upstream(owner)
        if upstream is None:
            return f"{owner} holds the book but does not answer; subscribe again shortly"
        self.channels.add(channel)
        self._deliver({"type": "subscribed", "channels": [channel]})
        await upstream.send(json.dumps({"op": "subscribe", "channels": [channel]}))
        return None

    async def merge(self, key: str, channel: str) -> None:
        """Follow the account of ``key`` on the private ``channel`` (:data:`MERGED` or one of
        :data:`REFRESHED`) at every other live shard as well (the caller subscribed it here); a
        shard that does not answer is left out."""
        peers = self._peers()
        if not peers:  # one process holds every book: its own numbering stands
            return
        if channel == MERGED and self.merged is None:
            self.merged = Merged()
        self.channels.add(channel)
        for owner in sorted(peers):
            upstream = await self._upstream(owner)
            if upstream is not None:
                self._chains.pop((owner, channel), None)  # its chain starts again
                if self._keys.get(owner) != key:  # authenticating again would drop its other channels
                    self._keys[owner] = key
                    await upstream.send(json.dumps({"op": "auth", "key": key}))
                await upstream.send(json.dumps({"op": "subscribe", "channels": [channel]}))

    async def _upstream(self, owner: str) -> Any:
        """The connection to ``owner``'s stream, opened (and pumped) on first use; None if it does
        not answer."""
        upstream = self._upstreams.get(owner)
        if upstream is None:
            try:
                url = "ws" + owner.removeprefix("http") + f"/v1/stream?{UPSTREAM_PARAM}=1"
                upstream = await websockets.connect(url)
            except (OSError, websockets.InvalidHandshake):  # unreachable, or an HTTP answer (429, 503)
                return None
            self._upstreams[owner] = upstream
            self._tasks.start_soon(self._pump, owner, upstream)
        return upstream

    async def unsubscribe(self, channels: list[str]) -> None:
        """Drop mirrored ``channels`` (others are not this mirror's)."""
        gone = [c for c in channels if c in self.channels]
        self.channels.difference_update(gone)
        if gone:
            for upstream in self._upstreams.values():
                with contextlib.suppress(websockets.ConnectionClosed):
                    await upstream.send(json.dumps({"op": "unsubscribe", "channels": gone}))

    async def _pump(self, owner: str, upstream: Any) -> None:
        """Pass the shard's messages of mirrored channels on (those of :data:`MERGED` marked ``gap``
        when the shard's own chain broke; those of :data:`REFRESHED` read afresh here instead);
        when it closes, close the client's."""
        try:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for frame in upstream:
                    message = json.loads(frame)
                    channel = message.get("channel")
                    if channel not in self.channels or message.get("type") == "subscribed":
                        continue
                    if channel in REFRESHED:
                        try:
                            await self._refresh(channel)
                        except Exception:  # e.g. the database is busy: the next change reads it all again
                            log.exception("reading %s afresh for a shard's change failed", channel)
                        continue
                    if channel == MERGED and "seq" in message:
                        known = self._chains.get((owner, channel))
                        message["gap"] = known is not None and message.get("prev_seq") != known
                        self._chains[owner, channel] = message["seq"]
                    self._deliver(message)
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()
        await self._socket.close(code=MOVED_CLOSE_CODE, reason="a shard's books moved; reconnect")
        self._tasks.cancel_scope.cancel()
