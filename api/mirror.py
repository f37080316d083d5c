"""The stream's channels of books another shard holds, mirrored from that shard's own stream.

A shard's hub sees only its own books change. When a connection on this process subscribes to
``book.X``, ``trades.X``, ``ticker.X`` or ``candles.<interval>.X`` and another shard holds X, the
connection opens one WebSocket to that shard's ``/v1/stream`` (one per shard, for as long as the
connection lives), subscribes there, and every message of those channels is passed through as the
holder sent it: its ``seq``/``prev_seq`` reach the client unchanged, so gap detection per book works
as on the holder. When the holder goes away (it died, its books move), the client's connection is
closed with 1012 (*service restart*): it reconnects, resubscribes, and the new holder's snapshot says
whether anything changed meanwhile -- the same contract as a standby's relayed stream.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import anyio
import websockets
from anyio.abc import TaskGroup
from litestar import WebSocket

OwnerOf = Callable[[str], str | None]
"""The base URL of the live process holding a product's books (None: no live holder)."""

MOVED_CLOSE_CODE = 1012
"""WebSocket close code when a mirrored shard went away (RFC 6455 *service restart*)."""


class Mirror:
    """One stream connection's channels served by other shards (see the module)."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        deliver: Callable[[dict[str, Any]], None],
        tasks: TaskGroup,
        owner_of: OwnerOf,
    ) -> None:
        self._owner_of = owner_of
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
        upstream = self._upstreams.get(owner)
        if upstream is None:
            try:
                upstream = await websockets.connect("ws" + owner.removeprefix("http") + "/v1/stream")
            except OSError:
                return f"{owner} holds the book but does not answer; subscribe again shortly"
            self._upstreams[owner] = upstream
            self._tasks.start_soon(self._pump, upstream)
        self.channels.add(channel)
        self._deliver({"type": "subscribed", "channels": [channel]})
        await upstream.send(json.dumps({"op": "subscribe", "channels": [channel]}))
        return None

    async def unsubscribe(self, channels: list[str]) -> None:
        """Drop mirrored ``channels`` (others are not this mirror's)."""
        gone = [c for c in channels if c in self.channels]
        self.channels.difference_update(gone)
        if gone:
            for upstream in self._upstreams.values():
                with contextlib.suppress(websockets.ConnectionClosed):
                    await upstream.send(json.dumps({"op": "unsubscribe", "channels": gone}))

    async def _pump(self, upstream: Any) -> None:
        """Pass the shard's messages of mirrored channels on; when it closes, close the client's."""
        try:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for frame in upstream:
                    message = json.loads(frame)
                    if message.get("channel") in self.channels and message.get("type") != "subscribed":
                        self._deliver(message)
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()
        await self._socket.close(code=MOVED_CLOSE_CODE, reason="a shard's books moved; reconnect")
        self._tasks.cancel_scope.cancel()
